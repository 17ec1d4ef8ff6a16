import { Hono } from "hono";
import { loadAdapterRequestSchema, unloadAdapterRequestSchema } from "../../protocol/adapters.ts";
import { loadAdapter, unloadAdapter } from "../../service/adapter-service.ts";
import type { Gateway } from "../../service/gateway.ts";
import { readJsonBody } from "../body.ts";
import type { GatewayEnv } from "../env.ts";
import { adminOnly } from "../middleware/auth.ts";
import { validate } from "../validate.ts";

/** vLLM's runtime LoRA routes, for admin keys only (see adminOnly). */
export function adapterRoutes(gateway: Gateway): Hono<GatewayEnv> {
  const app = new Hono<GatewayEnv>();
  const { config } = gateway;
  const admin = adminOnly({ apiKeys: config.apiKeys, adminKeys: config.adminApiKeys });
  app.post("/v1/load_lora_adapter", admin, async (c) => {
    const request = validate(loadAdapterRequestSchema, await readJsonBody(c.req.raw, config.maxBodyBytes));
    return c.json(await loadAdapter(gateway, request));
  });
  app.post("/v1/unload_lora_adapter", admin, async (c) => {
    const request = validate(unloadAdapterRequestSchema, await readJsonBody(c.req.raw, config.maxBodyBytes));
    return c.json(await unloadAdapter(gateway, request));
  });
  return app;
}
