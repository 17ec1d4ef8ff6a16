import { Hono } from "hono";
import type { ServedModel } from "../../engine/served-model.ts";
import type { ModelCard, ModelList } from "../../protocol/models.ts";
import type { Gateway } from "../../service/gateway.ts";
import type { GatewayEnv } from "../env.ts";

export function modelRoutes(gateway: Gateway): Hono<GatewayEnv> {
  const app = new Hono<GatewayEnv>();
  app.get("/v1/models", (c) => {
    const models = [...(gateway.engine?.models.values() ?? [])];
    const list: ModelList = { object: "list", data: models.map(card) };
    return c.json(list);
  });
  app.get("/v1/models/:id{.+}", (c) => c.json(card(gateway.model(c.req.param("id")))));
  return app;
}

function card(model: ServedModel): ModelCard {
  return { id: model.id, object: "model", created: model.created, owned_by: "spectr-gateway" };
}
