/**
 * /docs in a real headless Chromium (Debian's package; .ci/run installs it): Swagger UI from
 * the gateway's own assets renders every operation of openapi.yaml, and "Try it out" on
 * POST /v1/completions gets a 200 from the gateway. Every request the page makes stays on the
 * gateway's origin (no CDN), and the page and its assets need the key like /openapi.yaml.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { chromium, type Browser } from "playwright-core";
import { startTestGateway, type TestGateway } from "./gateway-harness.ts";
import { openapi } from "./openapi-validator.ts";

const chromiumPath = "/usr/bin/chromium";
const key = "sk-docs-test";
const operations = Object.values(openapi.paths).reduce((sum, item) => sum + Object.keys(item).length, 0);

/** Debian's chromium, installed with apt-get when missing (as .ci/run does). */
function ensureChromium(): void {
  if (existsSync(chromiumPath)) return;
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  spawnSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
  spawnSync("apt-get", ["install", "-y", "-qq", "chromium"], { stdio: "inherit", env });
  assert.ok(existsSync(chromiumPath), `${chromiumPath} is missing and apt-get could not install it`);
}

describe("/docs in headless Chromium", () => {
  let gateway: TestGateway;
  let browser: Browser;
  before(async () => {
    ensureChromium();
    gateway = await startTestGateway({ API_KEYS: key });
    browser = await chromium.launch({
      executablePath: chromiumPath,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    });
  });
  after(async () => {
    await browser?.close();
    await gateway?.close();
  });

  it("needs the key, like /openapi.yaml, for the page and its assets", async () => {
    for (const path of ["/docs", "/docs/assets/swagger-ui-bundle.js", "/docs/assets/docs.js", "/openapi.yaml"]) {
      assert.equal((await fetch(`${gateway.url}${path}`)).status, 401, path);
      assert.equal((await fetch(`${gateway.url}${path}`, { headers: { authorization: `Bearer ${key}` } })).status, 200, path);
    }
    assert.equal((await fetch(`${gateway.url}/docs/assets/index.html`, { headers: { authorization: `Bearer ${key}` } })).status, 404);
  });

  it("renders every operation and a try-it-out completion succeeds, all from the gateway's origin", async () => {
    // A fresh context (its own profile) that sends the key, as a header-adding proxy would.
    const context = await browser.newContext({ extraHTTPHeaders: { authorization: `Bearer ${key}` } });
    const page = await context.newPage();
    const requested: string[] = [];
    const pageErrors: string[] = [];
    page.on("request", (request) => requested.push(request.url()));
    page.on("pageerror", (error) => pageErrors.push(error.message));
    try {
      await page.goto(`${gateway.url}/docs`);
      await page.waitForFunction((count) => document.querySelectorAll(".opblock").length === count, operations, { timeout: 20_000 });
      const paths = await page.$$eval(".opblock-summary-path", (nodes) => nodes.map((node) => node.getAttribute("data-path")));
      assert.deepEqual(new Set(paths), new Set(Object.keys(openapi.paths)));

      const operation = page.locator("#operations-default-createCompletion");
      await operation.locator(".opblock-summary").click();
      await operation.locator(".try-out__btn").click();
      await operation.locator("textarea.body-param__text").fill(JSON.stringify({ model: "target", prompt: "Once upon a time", max_tokens: 4, temperature: 0 }));
      await operation.locator("button.execute").click();
      const status = operation.locator(".live-responses-table .response .response-col_status");
      await status.waitFor({ timeout: 20_000 });
      assert.equal((await status.innerText()).trim(), "200");
      assert.match(await operation.locator(".live-responses-table .response .response-col_description").innerText(), /text_completion/);
      if (process.env.DOCS_SCREENSHOT !== undefined) await page.screenshot({ path: process.env.DOCS_SCREENSHOT, fullPage: true });
    } finally {
      await context.close();
    }
    assert.deepEqual(pageErrors, []);
    const origin = new URL(gateway.url).origin;
    assert.deepEqual(requested.filter((url) => !url.startsWith(origin) && !url.startsWith("data:")), [], "requests left the gateway's origin");
  });
});
