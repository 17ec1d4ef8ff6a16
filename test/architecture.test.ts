/** The engine boundary (shared/architecture.md): node-llama-cpp stays inside src/engine/. */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, it } from "node:test";

function sources(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    return entry.isDirectory() ? sources(path) : entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** Module specifiers a file imports or re-exports, static or dynamic. */
function importsOf(text: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(/(?:import|export)\s[^;]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)|^import\s+["']([^"']+)["']/gm)) {
    found.push(match[1] ?? match[2] ?? match[3]!);
  }
  return found;
}

describe("the engine boundary", () => {
  it("finds the imports it checks (the scanner works)", () => {
    const engine = sources("src/engine").filter((file) => importsOf(readFileSync(file, "utf8")).includes("node-llama-cpp"));
    assert.ok(engine.length >= 5, `engine files importing node-llama-cpp: ${engine.length}`);
  });

  it("no file outside src/engine/ imports node-llama-cpp", () => {
    const outside = sources("src")
      .filter((file) => !relative("src", file).startsWith("engine"))
      .filter((file) => importsOf(readFileSync(file, "utf8")).some((specifier) => specifier === "node-llama-cpp" || specifier.startsWith("node-llama-cpp/")));
    assert.deepEqual(outside, []);
  });

  it("kernels/ imports nothing from src/", () => {
    const upward = sources("kernels").filter((file) => importsOf(readFileSync(file, "utf8")).some((specifier) => specifier.includes("/src/")));
    assert.deepEqual(upward, []);
  });
});
