/**
 * Hot swap under load: 8 clients (the official SDK, streaming, greedy) keep asking for model
 * "swap" while it is loaded 20 times over, cycling through three adapters of different seeds.
 * Checked: no request fails; every chunk of a response names one version (system_fingerprint);
 * each response's text is exactly what that version's file gives alone, so every answer is
 * attributable to exactly one version; requests overlapped swaps; once everything has drained
 * only the current version's cache file and adapter weights are left.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { adaptersDir, writeRandomAdapter } from "./adapter-fixtures.ts";
import { postJson, settle, startTestGateway, type TestGateway } from "./gateway-harness.ts";

const CLIENTS = 8;
const SWAPS = 20;
const MAX_TOKENS = 24;
const files = [11, 12, 13].map((seed) => `seed-${seed}.gguf`);
const prompts = ["Once upon a time", "The President said", "Call me Ishmael.", "In the year of our Lord"];

const dir = adaptersDir();
const cacheDir = mkdtempSync(join(tmpdir(), "adapter-cache-"));
files.forEach((file, i) => writeRandomAdapter(dir, file, 11 + i));

let gateway: TestGateway;
before(async () => {
  gateway = await startTestGateway({ ADAPTERS_DIR: dir, ADAPTER_CACHE_DIR: cacheDir, SEQUENCES: "4", MAX_QUEUE: "64" });
});
after(async () => {
  await gateway?.close();
  rmSync(dir, { recursive: true, force: true });
  rmSync(cacheDir, { recursive: true, force: true });
});

async function load(name: string, file: string): Promise<{ version: number; system_fingerprint: string }> {
  const response = await postJson(`${gateway.url}/v1/load_lora_adapter`, { lora_name: name, lora_path: file });
  assert.equal(response.status, 200, await response.clone().text());
  return (await response.json()) as { version: number; system_fingerprint: string };
}

interface Answer {
  prompt: string;
  text: string;
  fingerprints: Set<string>;
  swapsDuring: number;
}

async function stream(model: string, prompt: string): Promise<Omit<Answer, "swapsDuring">> {
  const chunks = await gateway.client.completions.create({ model, prompt, max_tokens: MAX_TOKENS, temperature: 0, ignore_eos: true, stream: true } as never) as unknown as AsyncIterable<{ system_fingerprint?: string; choices: { text: string }[] }>;
  let text = "";
  const fingerprints = new Set<string>();
  for await (const chunk of chunks) {
    fingerprints.add(chunk.system_fingerprint ?? "(none)");
    text += chunk.choices[0]?.text ?? "";
  }
  return { prompt, text, fingerprints };
}

describe("hot swap under streaming load", () => {
  it(`swaps ${SWAPS} times under ${CLIENTS} streaming clients with no failure, every answer from exactly one version`, async (t) => {
    // What each file gives alone, under a name of its own.
    const alone = new Map<string, Map<string, string>>();
    for (const file of files) {
      await load(`ref-${file}`, file);
      const texts = new Map<string, string>();
      for (const prompt of prompts) texts.set(prompt, (await stream(`ref-${file}`, prompt)).text);
      alone.set(file, texts);
    }
    for (const prompt of prompts) assert.equal(new Set(files.map((file) => alone.get(file)!.get(prompt))).size, files.length, `the three adapters disagree on "${prompt}"`);

    const fileOf = new Map<string, string>();
    const first = await load("swap", files[0]!);
    fileOf.set(first.system_fingerprint, files[0]!);
    let swaps = 0;
    let swapping = true;
    const answers: Answer[] = [];
    const failures: unknown[] = [];
    const client = async (id: number): Promise<void> => {
      for (let round = 0; swapping || round < 2; round++) {
        const prompt = prompts[(id + round) % prompts.length]!;
        const startedAt = swaps;
        try {
          const answer = await stream("swap", prompt);
          answers.push({ ...answer, swapsDuring: swaps - startedAt });
        } catch (error) {
          failures.push(error);
        }
      }
    };
    const swapper = async (): Promise<void> => {
      for (let i = 1; i <= SWAPS; i++) {
        const servedBefore = answers.length;
        const file = files[i % files.length]!;
        const card = await load("swap", file);
        fileOf.set(card.system_fingerprint, file);
        swaps++;
        // Let the new version answer a few requests before the next swap (bounded, not timed).
        for (let wait = 0; wait < 200 && answers.length < servedBefore + 3; wait++) await new Promise((resolve) => setTimeout(resolve, 10));
      }
      swapping = false;
    };
    await Promise.all([swapper(), ...Array.from({ length: CLIENTS }, (_, id) => client(id))]);

    assert.deepEqual(failures, [], "no request failed");
    assert.ok(answers.length >= CLIENTS * 2, `${answers.length} answers`);
    const versionsSeen = new Set<string>();
    for (const answer of answers) {
      assert.equal(answer.fingerprints.size, 1, `one version per response, got ${[...answer.fingerprints].join(", ")}`);
      const fingerprint = [...answer.fingerprints][0]!;
      const file = fileOf.get(fingerprint);
      assert.ok(file !== undefined, `fingerprint ${fingerprint} names a loaded version`);
      assert.equal(answer.text, alone.get(file)!.get(answer.prompt), `${fingerprint} on "${answer.prompt}" gives what ${file} gives alone`);
      versionsSeen.add(fingerprint);
    }
    assert.ok(versionsSeen.size >= SWAPS / 2, `answers came from ${versionsSeen.size} of ${SWAPS + 1} versions`);
    assert.ok(answers.some((answer) => answer.swapsDuring > 0), "some requests were in flight during a swap");

    t.diagnostic(`${answers.length} answers from ${versionsSeen.size} versions, ${answers.filter((answer) => answer.swapsDuring > 0).length} in flight during a swap, 0 failed`);

    // Old versions are freed once drained: one file for "swap", one per reference name.
    const left = await settle(async () => readdirSync(cacheDir).filter((file) => file.startsWith("swap.v")).length, 1);
    assert.equal(left, 1, `cache holds ${readdirSync(cacheDir).join(", ")}`);
    // And llama.cpp holds the weights of live versions only (node-llama-cpp would keep every one until the model goes).
    assert.equal(gateway.server.gateway.engine!.get("target")!.loadedAdapterWeights, files.length + 1, "three reference names and the current swap version");
  });
});
