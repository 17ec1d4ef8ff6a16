/**
 * Users' own bases, quantized as users download them: a LoRA adapter made by
 * `npm run adapter -- random` (which reads the base's header only) loads through the API onto a
 * random-weight base in Q4_0, Q5_0 and Q5_K, and changes what the base answers. The gateway
 * checks the adapter against node-llama-cpp's already-parsed layout of the base, never its
 * tensor data: the process's resident memory grows on the load by far less than the base file
 * (re-reading the base, as the gateway once did, adds the whole file). That layout is checked
 * against our own header-only read of the file.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { after, describe, it } from "node:test";
import { readGgufLayout } from "../kernels/gguf/reader.ts";
import { TensorType } from "../kernels/gguf/types.ts";
import { trainBpe } from "../kernels/tokenizer/bpe-trainer.ts";
import type { LlamaConfig } from "../kernels/transformer/config.ts";
import { modelLayout } from "../src/engine/model-layout.ts";
import { postJson, startTestGateway } from "./gateway-harness.ts";
import { writeRandomBase } from "./random-base.ts";

setFlagsFromString("--expose-gc");
/** Collects garbage, so memory freed during the measured load cannot hide memory it takes. */
const gc = runInNewContext("gc") as () => void;

const tokenizer = trainBpe(["The whale, the ship and the sea; the captain and the crew of the Pequod sailed on. ".repeat(20)], 300);
/** About 100-120 MB in these types, several times what loading an adapter itself takes (~15 MB of contexts and adapter). */
const config: LlamaConfig = { vocabSize: tokenizer.tokens.length, dim: 1024, layers: 6, heads: 8, kvHeads: 8, ffnDim: 8192, contextLength: 256, ropeBase: 10000, normEps: 1e-5 };
const dir = mkdtempSync(join(tmpdir(), "quantized-base-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("LoRA adapters on quantized bases", () => {
  for (const type of [TensorType.Q4_0, TensorType.Q5_0, TensorType.Q5_K]) {
    it(`${TensorType[type]}: the adapter loads through the API without a copy of the base, and is used`, async () => {
      const base = join(dir, `base-${TensorType[type]}.gguf`);
      writeRandomBase(base, config, tokenizer, type, 1);
      execFileSync(process.execPath, ["--import", "tsx", "kernels/lora/cli.ts", "random", "--base", base, "--rank", "8", "--targets", "attn_q,attn_v", "--magnitude", "0.5", "--out", join(dir, "adapter.gguf")]);
      const gateway = await startTestGateway({ TARGET_MODEL: base, TARGET_MODEL_ID: "base", DRAFT_MODEL: "", ADAPTERS_DIR: dir, CONTEXT_SIZE: "128", SEQUENCES: "2" });
      try {
        const header = readGgufLayout(base);
        const layout = modelLayout(gateway.server.gateway.engine!.get("base")!);
        assert.deepEqual(layout.metadata, header.metadata, "node-llama-cpp's parsed metadata is the file's, key for key");
        assert.deepEqual(layout.tensors, new Map([...header.tensors].map(([name, { shape, type }]) => [name, { name, shape, type }])));

        gc();
        const before = process.memoryUsage().rss;
        const response = await postJson(`${gateway.url}/v1/load_lora_adapter`, { lora_name: "tuned", lora_path: "adapter.gguf" });
        const growth = process.memoryUsage().rss - before;
        assert.equal(response.status, 200, await response.clone().text());
        assert.equal(((await response.json()) as { parent: string }).parent, "base");
        const baseBytes = statSync(base).size;
        assert.ok(growth < baseBytes / 2, `resident memory grew by ${(growth / 1e6).toFixed(1)} MB on the load; the base file has ${(baseBytes / 1e6).toFixed(1)} MB`);

        const top = async (model: string): Promise<Record<string, number>> => {
          const completion = await gateway.client.completions.create({ model, prompt: "The whale", max_tokens: 2, temperature: 0, logprobs: 3 });
          return completion.choices[0]!.logprobs!.top_logprobs![0]!;
        };
        assert.notDeepEqual(await top("tuned"), await top("base"), "the adapter changes the base's next-token distribution");
      } finally {
        await gateway.close();
        rmSync(base, { force: true });
      }
    });
  }
});
