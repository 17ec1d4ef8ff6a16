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

/** A self-contained HTML page (no scripts, no CDN) listing every operation of the OpenAPI document. */
export function renderDocsPage(openapiYaml: string): string {
  const document = parse(openapiYaml) as OpenApiDocument;
  const sections = Object.entries(document.paths).flatMap(([path, item]) =>
    methods.filter((method) => item[method] !== undefined).map((method) => renderOperation(method, path, item[method]!)));
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(document.info.title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.5}
section{border-top:1px solid #ddd;padding:.5rem 0}code{background:#f4f4f4;padding:0 .25rem}
.method{font-weight:bold;text-transform:uppercase;margin-right:.5rem}ul{margin:.25rem 0}</style></head>
<body><h1>${escape(document.info.title)} <small>${escape(document.info.version)}</small></h1>
<p>${escape(document.info.description ?? "")}</p><p>Machine-readable: <a href="/openapi.yaml">openapi.yaml</a> (OpenAPI 3.1).</p>
${sections.join("\n")}
</body></html>`;
}

function renderOperation(method: string, path: string, operation: Operation): string {
  const responses = Object.entries(operation.responses ?? {})
    .map(([status, response]) => `<li><code>${escape(status)}</code> ${escape(response.description ?? "")}</li>`)
    .join("");
  return `<section><h2><span class="method">${method}</span><code>${escape(path)}</code></h2>
<p>${escape(operation.summary ?? "")}</p><p>${escape(operation.description ?? "")}</p><ul>${responses}</ul></section>`;
}

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
