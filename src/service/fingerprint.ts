import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import type { Config } from "../config/config.ts";

const packageJson = new URL("../../package.json", import.meta.url);

/**
 * system_fingerprint: identifies the build and the configuration that shape outputs, as
 * OpenAI's does. A hash of this package's version and its pinned node-llama-cpp, every model
 * file (path, size, modification time: a replaced file changes it without reading gigabytes),
 * the draft, the chat template, and the speculation settings.
 */
export function systemFingerprint(config: Pick<Config, "models" | "draftModelPath" | "chatTemplatePath" | "speculation" | "contextSize">): string {
  const pkg = JSON.parse(readFileSync(packageJson, "utf8")) as { version: string; dependencies: Record<string, string> };
  const hash = createHash("sha256");
  hash.update(JSON.stringify({ version: pkg.version, engine: pkg.dependencies["node-llama-cpp"], speculation: config.speculation, contextSize: config.contextSize }));
  for (const file of [...config.models.map((model) => `${model.kind}:${model.id}:${model.path}`), `draft::${config.draftModelPath}`, `template::${config.chatTemplatePath ?? ""}`]) {
    const path = file.slice(file.lastIndexOf(":") + 1);
    hash.update(`${file}\0${fileIdentity(path)}\0`);
  }
  return `fp_${hash.digest("hex").slice(0, 12)}`;
}

function fileIdentity(path: string): string {
  if (path === "") return "none";
  try {
    const stats = statSync(path);
    return `${stats.size}:${stats.mtimeMs}`;
  } catch {
    return "missing";
  }
}
