import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { Hono } from "hono";
import { docsScript, renderDocsPage } from "../docs-page.ts";
import type { GatewayEnv } from "../env.ts";

/** swagger-ui-dist's files the page uses, read from the installed package on first use. */
const swaggerAssets: Record<string, string> = {
  "swagger-ui.css": "text/css; charset=utf-8",
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
};

/** Everything the page loads comes from this server (Swagger UI sets inline styles; data: images for its icons). */
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";

/** The OpenAPI document as written, and the interactive reference rendered from it (behind the same auth as every API route). */
export function docsRoutes(openapiYaml: string): Hono<GatewayEnv> {
  const app = new Hono<GatewayEnv>();
  const page = renderDocsPage(openapiYaml);
  const assets = new Map<string, string>();
  const asset = (name: string): string => {
    let text = assets.get(name);
    if (text === undefined) {
      text = readFileSync(join(swaggerUiDirectory(), name), "utf8");
      assets.set(name, text);
    }
    return text;
  };
  app.get("/openapi.yaml", (c) => c.body(openapiYaml, 200, { "content-type": "application/yaml; charset=utf-8" }));
  app.get("/docs", (c) => c.html(page, 200, { "content-security-policy": contentSecurityPolicy }));
  app.get("/docs/assets/docs.js", (c) => c.body(docsScript, 200, { "content-type": "text/javascript; charset=utf-8", "cache-control": "no-cache" }));
  app.get("/docs/assets/:name", (c) => {
    const name = c.req.param("name");
    const type = swaggerAssets[name];
    if (type === undefined) return c.notFound();
    return c.body(asset(name), 200, { "content-type": type, "cache-control": "public, max-age=3600" });
  });
  return app;
}

function swaggerUiDirectory(): string {
  return dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
}
