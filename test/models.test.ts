/**
 * The committed demo models: files match the manifest, the manifest meets the issue's
 * bar, llama.cpp (through node-llama-cpp) and our tfjs transformer compute the same
 * distributions, and the tokenizer round-trips every corpus line.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { getLlama, readGgufFileInfo, type Llama } from "node-llama-cpp";
import { compareManifests } from "../kernels/forge/compare.ts";
import { evaluatePair, tokenStream, validationWindows } from "../kernels/forge/evaluate.ts";
import { tokenByteLengths } from "../kernels/tokenizer/gguf-tokenizer.ts";
import { readGgufFile } from "../kernels/gguf/reader.ts";
import { corpusLines, loadCorpus } from "../kernels/corpus.ts";
import { initBackend } from "../kernels/tfjs/backend.ts";
import { loadVocabulary } from "../kernels/tokenizer/llama-tokenizer.ts";
import { parameterCount } from "../kernels/transformer/config.ts";
import { readLlamaModel } from "../kernels/transformer/gguf-model.ts";
import { compareWithLlama } from "./llama-agreement.ts";

const MODELS = "models";
const manifest = JSON.parse(readFileSync(join(MODELS, "manifest.json"), "utf8"));

let llama: Llama;
before(async () => {
  await initBackend();
  llama = await getLlama({ gpu: false });
});
after(async () => {
  await llama.dispose();
});

describe("committed models", () => {
  it("match the manifest byte for byte and fit the size budget", () => {
    let total = 0;
    for (const name of readdirSync(MODELS)) total += statSync(join(MODELS, name)).size;
    // 40 MB read the strict way (decimal), which also keeps it under 40 MiB.
    assert.ok(total <= 40e6, `models/ holds ${total} bytes`);
    for (const [name, { sha256 }] of Object.entries(manifest.files as Record<string, { sha256: string }>)) {
      assert.equal(createHash("sha256").update(readFileSync(join(MODELS, name))).digest("hex"), sha256, name);
    }
  });

  it("manifest figures meet the bar: target better than draft, aligned pair", () => {
    for (const key of ["target", "draft"]) {
      assert.equal(parameterCount(readLlamaModel(join(MODELS, manifest[key].file)).config), manifest[key].params);
    }
    assert.ok(manifest.target.valid_bits_per_byte < manifest.draft.valid_bits_per_byte);
    assert.ok(manifest.pair.expected_acceptance >= 0.6, `expected acceptance ${manifest.pair.expected_acceptance}`);
    assert.ok(manifest.pair.argmax_agreement > 0 && manifest.pair.argmax_agreement <= 1);
    for (const key of ["seed", "tokens_seen", "wall_time_seconds", "stage_a", "stage_b"]) assert.ok(key in manifest.training, key);
  });

  // A quarter of the windows (the figures on all 64 equal the manifest's, ~1 min here): a slice's
  // bits/byte moves with its text by a few hundredths, a wrong model or manifest by more. On this
  // slice: gap 0.0142 vs 0.0137, acceptance 0.918 vs 0.917, argmax agreement 0.842 vs 0.842.
  it("bits per byte and acceptance, recomputed on 16 of the manifest's 64 validation windows, agree with the manifest", async () => {
    const target = readLlamaModel(join(MODELS, manifest.target.file));
    const draft = readLlamaModel(join(MODELS, manifest.draft.file));
    const strings = (key: string) => (target.file.metadata.get(key) as unknown[]).map((value) => value as never);
    const tokenizer = { tokens: strings("tokenizer.ggml.tokens") as string[], tokenTypes: strings("tokenizer.ggml.token_type") as number[] };
    const vocabulary = await loadVocabulary(join(MODELS, "target.gguf"));
    const stream = tokenStream(loadCorpus().validation, vocabulary.tokenize, Number(target.file.metadata.get("tokenizer.ggml.eos_token_id")));
    await vocabulary.dispose();
    const length = manifest.training.sequence_length;
    const windows = validationWindows(stream, manifest.training.validation_windows, length).filter((_, i) => i % 4 === 0);
    const figures = evaluatePair(target, draft, windows, length, tokenByteLengths(tokenizer as never));
    const close = (actual: number, expected: number, tolerance: number, name: string) => assert.ok(Math.abs(actual - expected) < tolerance, `${name}: ${actual} on the slice, ${expected} in the manifest`);
    close(figures.targetBitsPerByte, manifest.target.valid_bits_per_byte, 0.1, "target bits/byte");
    close(figures.draftBitsPerByte, manifest.draft.valid_bits_per_byte, 0.1, "draft bits/byte");
    // The slice's text moves both models' bits/byte alike (by -0.061 each here), so the gap between
    // them is kept closely: swapped or stale figures for one model change it.
    close(figures.draftBitsPerByte - figures.targetBitsPerByte, manifest.draft.valid_bits_per_byte - manifest.target.valid_bits_per_byte, 0.003, "draft - target bits/byte");
    close(figures.expectedAcceptance, manifest.pair.expected_acceptance, 0.01, "expected acceptance");
    close(figures.argmaxAgreement, manifest.pair.argmax_agreement, 0.01, "argmax agreement");
  });

  it("the manifest comparison used to check a forge reproduction flags any changed figure", () => {
    assert.deepEqual(compareManifests(manifest, structuredClone(manifest)).filter((row) => !row.same), []);
    const changed = structuredClone(manifest);
    changed.target.valid_bits_per_byte += 1e-6;
    changed.files["draft.gguf"].sha256 = "0".repeat(64);
    delete changed.training.stage_b.final_loss;
    const differing = compareManifests(manifest, changed).filter((row) => !row.same).map((row) => row.figure);
    assert.deepEqual(differing, ["files.draft.gguf.sha256", "target.valid_bits_per_byte", "training.stage_b.final_loss"]);
  });

  for (const role of ["target", "draft"] as const) {
    it(`${role}: tfjs and llama.cpp agree on every next-token distribution`, async () => {
      const path = join(MODELS, manifest[role].file);
      const { config, weights } = readLlamaModel(path);
      const model = await llama.loadModel({ modelPath: path });
      const context = await model.createContext({ contextSize: 256, threads: 1 });
      const sequence = context.getSequence();
      const texts = loadCorpus().validation.slice(0, 4).map((d) => d.text.slice(2000, 2600));
      let positions = 0;
      let agreements = 0;
      let maxDiff = 0;
      for (const text of texts) {
        await sequence.clearHistory();
        const result = await compareWithLlama(sequence, config, weights, model.tokenize(text, false).slice(0, 96), 1e-30);
        assert.equal(result.truncated, 0, "the full distribution");
        positions += result.positions;
        agreements += result.agreements;
        maxDiff = Math.max(maxDiff, result.maxDiff);
      }
      await context.dispose();
      await model.dispose();
      assert.ok(positions >= 300, `${positions} positions compared`);
      assert.ok(maxDiff <= 2e-2, `max |log p_llama - log p_tfjs| = ${maxDiff}`);
      assert.ok(agreements / positions >= 0.99, `argmax agreement ${agreements}/${positions}`);
    });
  }

  it("our bounds-checked GGUF reader and node-llama-cpp's parser read the same header", async () => {
    for (const name of ["target.gguf", "draft.gguf"]) {
      const ours = readGgufFile(join(MODELS, name));
      const theirs = await readGgufFileInfo(join(MODELS, name), { logWarnings: false });
      assert.equal(theirs.version, ours.version);
      assert.equal(theirs.metadata.general.architecture, ours.metadata.get("general.architecture"));
      assert.equal(theirs.metadata.llama?.block_count, ours.metadata.get("llama.block_count"));
      assert.equal(theirs.metadata.tokenizer?.ggml.tokens.length, (ours.metadata.get("tokenizer.ggml.tokens") as string[]).length);
      const infos = theirs.tensorInfo!;
      assert.equal(infos.length, ours.tensors.size);
      for (const info of infos) {
        const mine = ours.tensors.get(info.name)!;
        assert.deepEqual(mine.shape, info.dimensions.map(Number), info.name);
        assert.equal(mine.type, info.ggmlType, info.name);
        assert.equal(mine.offset, Number(info.fileOffset), info.name);
      }
    }
  });

  it("the tokenizer round-trips every corpus line exactly", async () => {
    const vocabulary = await loadVocabulary(join(MODELS, "target.gguf"));
    const { train, validation } = loadCorpus();
    const lines = corpusLines([...train, ...validation]);
    const failures = lines.filter((line) => vocabulary.detokenize(vocabulary.tokenize(line)) !== line);
    await vocabulary.dispose();
    assert.ok(lines.length > 2000);
    assert.deepEqual(failures.slice(0, 3), []);
  });
});
