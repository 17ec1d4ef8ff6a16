/**
 * No Docker engine runs here, so the image cannot be built in CI; this checks what can go
 * stale without one: every file the Dockerfile copies exists, what it runs is `npm start`'s
 * entry point, and the environment it sets is a valid gateway configuration.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { loadConfig } from "../src/config/config.ts";

const dockerfile = readFileSync("Dockerfile", "utf8").replace(/\\\n\s*/g, " ");
const lines = dockerfile.split("\n").map((line) => line.trim()).filter((line) => line.length > 0 && !line.startsWith("#"));

describe("Dockerfile", () => {
  it("copies only files that exist, and never node_modules from the build context", () => {
    const sources = lines.filter((line) => line.startsWith("COPY ") && !line.includes("--from=")).flatMap((line) => line.split(/\s+/).slice(1, -1));
    assert.ok(sources.length > 0);
    for (const source of sources) assert.ok(existsSync(source), `COPY ${source}: no such file`);
    assert.match(readFileSync(".dockerignore", "utf8"), /^node_modules$/m);
  });

  it("runs npm start's entry point with node itself (so SIGTERM reaches the gateway)", () => {
    const cmd = lines.find((line) => line.startsWith("CMD "));
    assert.ok(cmd);
    const args = JSON.parse(cmd.slice(4)) as string[];
    const start = (JSON.parse(readFileSync("package.json", "utf8")) as { scripts: { start: string } }).scripts.start;
    assert.equal(args[0], "node");
    assert.equal(args.at(-1), start.split(/\s+/).at(-1));
    assert.ok(existsSync(args.at(-1)!));
  });

  it("sets an environment the gateway accepts", () => {
    const environment: Record<string, string> = {};
    for (const line of lines.filter((line) => line.startsWith("ENV "))) {
      for (const [, name, value] of line.slice(4).matchAll(/(\w+)=(\S+)/g)) environment[name!] = value!;
    }
    assert.equal(environment.HOST, "0.0.0.0");
    const config = loadConfig(environment);
    assert.equal(String(config.port), lines.find((line) => line.startsWith("EXPOSE "))!.split(/\s+/)[1]);
  });
});
