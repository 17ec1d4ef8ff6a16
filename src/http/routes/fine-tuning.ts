import { Hono } from "hono";
import { createJobRequestSchema, listQuerySchema } from "../../protocol/fine-tuning.ts";
import { cancelJob, createJob, getJob, listCheckpoints, listEvents, listJobs } from "../../service/fine-tuning-service.ts";
import type { Gateway } from "../../service/gateway.ts";
import { readJsonBody } from "../body.ts";
import type { GatewayEnv } from "../env.ts";
import { adminOnly } from "../middleware/auth.ts";
import { validate } from "../validate.ts";

/**
 * OpenAI's fine-tuning jobs. Creating and cancelling jobs take an admin key (they spend the
 * machine's CPU and publish a served model, as /v1/load_lora_adapter does); any key reads.
 */
export function fineTuningRoutes(gateway: Gateway): Hono<GatewayEnv> {
  const app = new Hono<GatewayEnv>();
  const { config } = gateway;
  const admin = adminOnly({ apiKeys: config.apiKeys, adminKeys: config.adminApiKeys });
  app.post("/v1/fine_tuning/jobs", admin, async (c) => c.json(await createJob(gateway, validate(createJobRequestSchema, await readJsonBody(c.req.raw, config.maxBodyBytes)))));
  app.get("/v1/fine_tuning/jobs", async (c) => c.json(await listJobs(gateway, validate(listQuerySchema, c.req.query()))));
  app.get("/v1/fine_tuning/jobs/:id", async (c) => c.json(await getJob(gateway, c.req.param("id"))));
  app.get("/v1/fine_tuning/jobs/:id/events", async (c) => c.json(await listEvents(gateway, c.req.param("id"), validate(listQuerySchema, c.req.query()))));
  app.get("/v1/fine_tuning/jobs/:id/checkpoints", async (c) => c.json(await listCheckpoints(gateway, c.req.param("id"), validate(listQuerySchema, c.req.query()))));
  app.post("/v1/fine_tuning/jobs/:id/cancel", admin, async (c) => c.json(await cancelJob(gateway, c.req.param("id"))));
  return app;
}
