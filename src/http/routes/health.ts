import { Hono } from "hono";
import { notReady, shuttingDown } from "../../protocol/errors.ts";
import type { Gateway } from "../../service/gateway.ts";
import type { GatewayEnv } from "../env.ts";

/** /health: the process answers. /ready: models are loaded and the server is not draining. */
export function healthRoutes(gateway: Gateway): Hono<GatewayEnv> {
  const app = new Hono<GatewayEnv>();
  app.get("/health", (c) => c.json({ status: "ok" }));
  app.get("/ready", (c) => {
    // Orchestrators poll this; "not ready yet" and "draining" are its normal answers.
    c.get("log").level = "info";
    if (gateway.lifecycle === "draining") throw shuttingDown();
    if (gateway.lifecycle === "loading") throw notReady();
    return c.json({ status: "ready", models: [...(gateway.engine?.models.keys() ?? [])] });
  });
  return app;
}
