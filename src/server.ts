import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { serve, type ServerType } from "@hono/node-server";
import type { Logger } from "pino";
import { Adapters } from "./adapters/adapters.ts";
import type { Config } from "./config/config.ts";
import { Engine } from "./engine/engine.ts";
import { createApp } from "./http/app.ts";
import { clientErrorHandler } from "./http/client-errors.ts";
import { Metrics } from "./metrics/metrics.ts";
import { DocumentTokenCache } from "./rerank/document-token-cache.ts";
import { loadTokenRerankers } from "./rerank/rerankers.ts";
import { Scheduler } from "./scheduler/scheduler.ts";
import { FineTuning } from "./finetune/fine-tuning.ts";
import { Gateway } from "./service/gateway.ts";
import { openStore } from "./store/open-store.ts";
import type { Store } from "./store/store.ts";

export interface RunningServer {
  gateway: Gateway;
  url: string;
  /** Resolves once models are loaded (the server answers /health and /ready before that). */
  loaded: Promise<void>;
  /** /ready turns 503, new requests are refused, in-flight ones get `deadlineMs`; then everything closes. */
  shutdown(deadlineMs: number): Promise<{ drained: boolean }>;
}

/** How long requests cut at shutdown's deadline get to send their error before connections close. */
const cutGraceMs = 2_000;

const openapiPath = new URL("../openapi.yaml", import.meta.url);

/**
 * The serving state without models: store, scheduler, metrics, and the gateway that routes
 * work against them. Cheap; a process that never loads a model (a worker) builds this much.
 */
export async function createGateway(config: Config, logger: Logger, store?: Store): Promise<Gateway> {
  const shared = store ?? (await openStore(config.redisUrl, { timeoutMs: config.storeTimeoutMs, logger }));
  const scheduler = new Scheduler({ maxQueue: config.maxQueue, timeoutMs: config.requestTimeoutMs, retryAfterSeconds: config.retryAfterSeconds });
  let gateway: Gateway | undefined;
  const metrics = new Metrics({
    running: () => scheduler.running,
    waiting: () => scheduler.waiting,
    activeSequences: () => gateway?.activeSequences() ?? 0,
    activeDraftSequences: () => gateway?.activeDraftSequences() ?? 0,
  });
  gateway = new Gateway(config, logger, metrics, scheduler, shared);
  gateway.fineTuning = new FineTuning(config, shared, logger);
  return gateway;
}

/** Loads the models and the adapters the registry holds, and hands them to the gateway (ready from then on). */
export async function loadModels(gateway: Gateway): Promise<void> {
  const { config, logger, store } = gateway;
  const engine = await Engine.load(config, logger);
  try {
    // The first served model is the base adapters apply to; ready only once the registry's adapters are in.
    const base = engine.get(config.models[0]!.id)!;
    const cache = new DocumentTokenCache(store, { maxBytes: config.rerank.cacheMaxBytes, ttlMs: config.rerank.cacheTtlMs }, gateway.metrics, logger);
    const rerankers = [...engine.rankings.values(), ...(await loadTokenRerankers(config.rerank.artifactPath, logger, cache))];
    const taken = new Set([...engine.entries().map((entry) => entry.id), ...engine.rankings.keys()]);
    const clash = rerankers.find((reranker) => reranker.method !== "gguf" && taken.has(reranker.id));
    if (clash !== undefined) throw new Error(`Reranker id ${clash.id} is also a served model's id`);
    gateway.attachRerankers(rerankers);
    const adapters = await Adapters.open(config, base, new Set([...taken, ...rerankers.map((reranker) => reranker.id)]), store, logger);
    await adapters.sync();
    adapters.start();
    gateway.attach(engine, adapters);
  } catch (error) {
    await engine.dispose();
    throw error;
  }
}

/** Starts listening at once, then loads the models; the gateway reports ready when they are in. */
export async function startServer(config: Config, logger: Logger): Promise<RunningServer> {
  if (config.apiKeys.length + config.adminApiKeys.length === 0) logger.warn("API_KEYS and ADMIN_API_KEYS are unset: every route is open without authentication");
  const gateway = await createGateway(config, logger);
  const app = createApp(gateway, readFileSync(openapiPath, "utf8"));
  const server = await listen(app.fetch, config.host, config.port, config.maxHeaderBytes);
  const address = server.address() as AddressInfo;
  const url = `http://${config.host}:${address.port}`;
  logger.info({ url }, "listening");
  const loaded = loadModels(gateway);
  gateway.fineTuning!.start(config.workers);
  return {
    gateway,
    url,
    loaded,
    async shutdown(deadlineMs) {
      gateway.drain();
      const drained = await gateway.requests.waitForIdle(deadlineMs);
      if (!drained) {
        // Past the deadline: requests end with an error the client can read (a stream's last event, then [DONE]) before the sockets close.
        gateway.cutInFlight();
        await gateway.requests.waitForIdle(cutGraceMs);
      }
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
      // Closing connections aborts what was left; let those generations stop before the models go.
      await gateway.scheduler.waitForIdle(5_000);
      await loaded.catch(() => undefined);
      await gateway.fineTuning?.close();
      await gateway.adapters?.close(5_000);
      await gateway.engine?.dispose();
      await gateway.store.close();
      return { drained };
    },
  };
}

function listen(fetch: (request: Request) => Response | Promise<Response>, hostname: string, port: number, maxHeaderBytes: number): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, hostname, port, serverOptions: { maxHeaderSize: maxHeaderBytes } }, () => resolve(server));
    server.on("clientError", clientErrorHandler(maxHeaderBytes));
    server.once("error", reject);
  });
}
