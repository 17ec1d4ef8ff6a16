import { Hono } from "hono";
import type { Metrics } from "../../metrics/metrics.ts";
import type { GatewayEnv } from "../env.ts";

export function metricsRoutes(metrics: Metrics): Hono<GatewayEnv> {
  const app = new Hono<GatewayEnv>();
  app.get("/metrics", async (c) => c.body(await metrics.registry.metrics(), 200, { "content-type": metrics.registry.contentType }));
  return app;
}
