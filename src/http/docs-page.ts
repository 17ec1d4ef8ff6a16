import { parse } from "yaml";

interface Operation {
  summary?: string;
  description?: string;
  responses?: Record<string, { description?: string }>;
}

interface OpenApiDocument {
  info: { title: string; version: string; description?: string };
  paths: Record<string, Record<string, Operation>>;
}

const methods = ["get", "post", "put", "patch", "delete"];

/**
 * The interactive API reference: Swagger UI (swagger-ui-dist's bundled assets, served under
 * /docs/assets by routes/docs.ts, no CDN) over the OpenAPI document, which is embedded in the
 * page (so the page needs no second authenticated fetch) and tried against the page's own
 * origin. Without JavaScript, a static list of every operation.
 */
export function renderDocsPage(openapiYaml: string): string {
  const document = parse(openapiYaml) as OpenApiDocument;
  const sections = Object.entries(document.paths).flatMap(([path, item]) =>
    methods.filter((method) => item[method] !== undefined).map((method) => renderOperation(method, path, item[method]!)));
  // "<" escaped so no string in the document can close the script element.
  const embedded = JSON.stringify(document).replace(/</g, "\\u003c");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(document.info.title)} API reference</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script type="application/json" id="openapi-document">${embedded}</script>
<noscript><h1>${escape(document.info.title)} <small>${escape(document.info.version)}</small></h1>
<p>${escape(document.info.description ?? "")}</p><p>Machine-readable: <a href="/openapi.yaml">openapi.yaml</a> (OpenAPI 3.1).</p>
${sections.join("\n")}</noscript>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/docs.js"></script>
</body></html>`;
}

/** Starts Swagger UI on the embedded document; "try it out" calls go to this page's origin. */
export const docsScript = `"use strict";
(function () {
  var spec = JSON.parse(document.getElementById("openapi-document").textContent);
  spec.servers = [{ url: window.location.origin }];
  window.ui = SwaggerUIBundle({
    spec: spec,
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    docExpansion: "list",
    defaultModelsExpandDepth: 0,
    persistAuthorization: false,
    validatorUrl: null
  });
})();
`;

function renderOperation(method: string, path: string, operation: Operation): string {
  const responses = Object.entries(operation.responses ?? {})
    .map(([status, response]) => `<li><code>${escape(status)}</code> ${escape(response.description ?? "")}</li>`)
    .join("");
  return `<section><h2>${method.toUpperCase()} <code>${escape(path)}</code></h2>
<p>${escape(operation.summary ?? "")}</p><p>${escape(operation.description ?? "")}</p><ul>${responses}</ul></section>`;
}

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
