import { Hono } from "hono";
import { cors } from "hono/cors";
import { chatRequestSchema } from "../protocol/chat.ts";
import { completionRequestSchema } from "../protocol/completions.ts";
import { embeddingRequestSchema } from "../protocol/embeddings.ts";
import { linkSignals } from "../lifecycle/linked-signal.ts";
import { routeNotFound } from "../protocol/errors.ts";
import { rerankRequestSchema } from "../protocol/rerank.ts";
import { createChatCompletion, streamChatCompletion } from "../service/chat-service.ts";
import { createCompletion, streamCompletion } from "../service/completions-service.ts";
import { createEmbeddings } from "../service/embeddings-service.ts";
import type { Gateway } from "../service/gateway.ts";
import { rerank } from "../service/rerank-service.ts";
import type { GatewayEnv } from "./env.ts";
import { clientClosedStatus, errorResponse, isClientClosed, toApiError } from "./error-response.ts";
import { auth } from "./middleware/auth.ts";
import { originGuard } from "./middleware/origin-guard.ts";
import { requestContext } from "./middleware/request-context.ts";
import { urlLimit } from "./middleware/url-limit.ts";
import { readJsonBody } from "./body.ts";
import { adapterRoutes } from "./routes/adapters.ts";
import { docsRoutes } from "./routes/docs.ts";
import { fileRoutes } from "./routes/files.ts";
import { fineTuningRoutes } from "./routes/fine-tuning.ts";
import { generationRoute } from "./routes/generation.ts";
import { healthRoutes } from "./routes/health.ts";
import { metricsRoutes } from "./routes/metrics.ts";
import { modelRoutes } from "./routes/models.ts";
import { validate } from "./validate.ts";

/** Wiring only: middleware, routes, and the one mapping of errors to responses. */
export function createApp(gateway: Gateway, openapiYaml: string): Hono<GatewayEnv> {
  const app = new Hono<GatewayEnv>();
  const { config } = gateway;
  const publicPaths = new Set(["/health", "/ready", ...(config.metricsRequireAuth ? [] : ["/metrics"])]);
  app.use(requestContext(gateway.logger, gateway.metrics, gateway.requests));
  app.use(urlLimit(config.maxUrlBytes));
  if (config.corsOrigins.length > 0) app.use(cors({ origin: config.corsOrigins, allowHeaders: ["authorization", "content-type", "x-request-id"], exposeHeaders: ["x-request-id", "retry-after"], maxAge: 600 }));
  app.use(originGuard(config.corsOrigins));
  app.use(auth({ keys: [...config.apiKeys, ...config.adminApiKeys], publicPaths }));
  app.route("/", healthRoutes(gateway));
  app.route("/", metricsRoutes(gateway.metrics));
  app.route("/", docsRoutes(openapiYaml));
  app.route("/", modelRoutes(gateway));
  app.route("/", adapterRoutes(gateway));
  app.route("/", fileRoutes(gateway));
  app.route("/", fineTuningRoutes(gateway));
  app.post("/v1/completions", generationRoute(gateway, completionRequestSchema, createCompletion, streamCompletion));
  app.post("/v1/chat/completions", generationRoute(gateway, chatRequestSchema, createChatCompletion, streamChatCompletion));
  app.post("/v1/embeddings", async (c) => c.json(await createEmbeddings(gateway, validate(embeddingRequestSchema, await readJsonBody(c.req.raw, config.maxBodyBytes)))));
  // Jina and Cohere v1 post to /v1/rerank, Cohere v2 to /v2/rerank, llama.cpp's server also answers /rerank.
  for (const path of ["/v1/rerank", "/rerank", "/v2/rerank"]) {
    app.post(path, async (c) => {
      const request = validate(rerankRequestSchema, await readJsonBody(c.req.raw, config.maxBodyBytes));
      // The client's disconnect or shutdown's deadline stops the scoring between slices.
      using linked = linkSignals([c.req.raw.signal, gateway.deadlineSignal]);
      return c.json(await rerank(gateway, request, linked.signal));
    });
  }
  app.notFound((c) => errorResponse(routeNotFound(c.req.path), c.get("requestId")));
  app.onError((error, c) => {
    const requestId = c.get("requestId");
    if (isClientClosed(error)) return new Response(null, { status: clientClosedStatus, headers: { "x-request-id": requestId } });
    const apiError = toApiError(error);
    if (apiError.status >= 500 && apiError.type === "server_error") gateway.logger.error({ err: error, request_id: requestId }, "unhandled error");
    else c.get("log").set({ error: apiError.message });
    if (apiError.code === "not_ready" || apiError.code === "shutting_down") c.get("log").level ??= "warn";
    return errorResponse(apiError, requestId);
  });
  return app;
}
