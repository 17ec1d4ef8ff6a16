import { Hono } from "hono";
import type { AdapterVersion } from "../../adapters/adapter-version.ts";
import type { ModelEntry } from "../../engine/engine.ts";
import { modelNotFound } from "../../protocol/errors.ts";
import type { ModelCard, ModelList } from "../../protocol/models.ts";
import type { Reranker } from "../../rerank/reranker.ts";
import type { Gateway } from "../../service/gateway.ts";
import type { GatewayEnv } from "../env.ts";

/** Served models of every kind, then loaded adapters (each its own model id, `parent` its base, as vLLM lists them). */
export function modelRoutes(gateway: Gateway): Hono<GatewayEnv> {
  const app = new Hono<GatewayEnv>();
  const cards = (): ModelCard[] => [
    ...(gateway.engine?.entries() ?? []).map(modelCard),
    ...[...gateway.rerankers.values()].map(rerankerCard),
    ...(gateway.adapters?.versions() ?? []).map(adapterCard),
  ];
  app.get("/v1/models", (c) => {
    const list: ModelList = { object: "list", data: cards() };
    return c.json(list);
  });
  app.get("/v1/models/:id{.+}", (c) => {
    const id = c.req.param("id");
    gateway.servingEngine(); // 503 while loading or draining, as for generation
    const card = cards().find((candidate) => candidate.id === id);
    if (card === undefined) throw modelNotFound(id);
    return c.json(card);
  });
  return app;
}

function modelCard(model: ModelEntry): ModelCard {
  return { id: model.id, object: "model", created: model.created, owned_by: "spectr-gateway", kind: model.kind };
}

function rerankerCard(reranker: Reranker): ModelCard {
  return { id: reranker.id, object: "model", created: reranker.created, owned_by: "spectr-gateway", kind: "ranking", method: reranker.method };
}

function adapterCard(adapter: AdapterVersion): ModelCard {
  const { name, base, created, version } = adapter.record;
  return { id: name, object: "model", created, owned_by: "spectr-gateway", kind: "generative", parent: base, root: name, version };
}
