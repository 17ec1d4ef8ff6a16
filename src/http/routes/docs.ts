import { Hono } from "hono";
import { renderDocsPage } from "../docs-page.ts";
import type { GatewayEnv } from "../env.ts";

/** The OpenAPI document as written, and a human page rendered from it. */
export function docsRoutes(openapiYaml: string): Hono<GatewayEnv> {
  const app = new Hono<GatewayEnv>();
  const page = renderDocsPage(openapiYaml);
  app.get("/openapi.yaml", (c) => c.body(openapiYaml, 200, { "content-type": "application/yaml; charset=utf-8" }));
  app.get("/docs", (c) => c.html(page));
  return app;
}
