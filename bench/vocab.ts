/**
 * `npm run bench:vocab`: the gateway on models whose vocabularies are the size of real ones.
 * Random-weight llama GGUFs (dim 64, 2 layers: the forward pass is cheap, so what grows with
 * the vocabulary shows) with 2k, 32k, 128k and 256k tokens, made here in a temporary folder and
 * deleted after (kernels/transformer/random-model.ts), each served by `npm start`'s entry point
 * with itself as the draft. Every request shape below runs on the same prompts, one request at
 * a time; the figure is the median over prompts of completion tokens / wall time. With
 * LLAMA_SERVER naming a llama-server binary, the same requests go to llama-server on the same
 * file (plain, and with --model-draft for the speculative shapes).
 *
 *   npm run bench:vocab                               # VOCABS=2048,32768 for a shorter run
 *   LLAMA_SERVER=/path/to/llama-server npm run bench:vocab
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeRandomLlama } from "../kernels/transformer/random-model.ts";
import { spawnGateway } from "../test/gateway-process.ts";
import { launchLlamaServer, type RunningLlamaServer } from "./llama-server-peer.ts";

const VOCABS = (process.env.VOCABS ?? "2048,32768,131072,262144").split(",").map(Number);
const MAX_TOKENS = Number(process.env.BENCH_TOKENS ?? 48);
const CONTEXT = 1024;
/** The vocabulary the llama-server comparison (and the issue's goals) are read at. */
const PEER_VOCAB = Number(process.env.PEER_VOCAB ?? 131072);
const PROMPTS = ["The President said that", "Call me Ishmael. Some years ago", "In the year of our Lord", "We the people of the United States", "The whale rose from the sea"];

interface Shape {
  name: string;
  /** Our request body beyond model, prompt, max_tokens and ignore_eos. */
  body: Record<string, unknown>;
  /** The same request for llama-server's OpenAI endpoints (its defaults made neutral), or null: it has none. */
  peer: Record<string, unknown> | null;
  /** llama-server needs --model-draft for it. */
  draft?: boolean;
  chat?: boolean;
  /** Our row this one is compared with when llama-server has no such request. */
  baseline?: string;
}

// llama-server's defaults truncate (top_k 40, top_p 0.95, min_p 0.05): state ours (none) explicitly.
const neutral = { top_k: 0, top_p: 1, min_p: 0 };
const SHAPES: Shape[] = [
  { name: "greedy", body: { temperature: 0 }, peer: { temperature: 0 } },
  { name: "temperature 1", body: { temperature: 1 }, peer: { temperature: 1, ...neutral } },
  { name: "temperature 1, top_p 0.9", body: { temperature: 1, top_p: 0.9 }, peer: { temperature: 1, ...neutral, top_p: 0.9 } },
  { name: "greedy, logprobs 1", body: { temperature: 0, logprobs: 1 }, peer: { temperature: 0, logprobs: 1 } },
  { name: "temperature 1, presence_penalty 0.5", body: { temperature: 1, presence_penalty: 0.5 }, peer: { temperature: 1, ...neutral, presence_penalty: 0.5 } },
  { name: "temperature 1, top_k 40", body: { temperature: 1, top_k: 40 }, peer: { temperature: 1, ...neutral, top_k: 40 } },
  { name: "temperature 1, n 4", body: { temperature: 1, n: 4 }, peer: { temperature: 1, ...neutral, n: 4 } },
  { name: "temperature 1, best_of 3", body: { temperature: 1, best_of: 3 }, peer: null, baseline: "greedy" },
  { name: "chat, greedy", body: { temperature: 0 }, peer: { temperature: 0 }, chat: true },
  { name: "temperature 1, speculation {k:1,l:4}", body: { temperature: 1, speculation: { k: 1, l: 4 } }, peer: { temperature: 1, ...neutral }, draft: true },
  { name: "greedy, speculation {k:2,l:4}", body: { temperature: 0, speculation: { k: 2, l: 4 } }, peer: { temperature: 0 }, draft: true },
  { name: "temperature 1, speculation auto", body: { temperature: 1, speculation: "auto" }, peer: null, baseline: "temperature 1" },
  { name: "greedy, speculation auto", body: { temperature: 0, speculation: "auto" }, peer: null, baseline: "greedy" },
];

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** Median over prompts of generated tokens per second of wall time (one request at a time, one warm-up). */
async function measure(url: string, shape: Shape, model: string): Promise<number> {
  const rates: number[] = [];
  for (const [i, prompt] of [PROMPTS[0]!, ...PROMPTS].entries()) {
    const path = shape.chat === true ? "/v1/chat/completions" : "/v1/completions";
    const input = shape.chat === true ? { messages: [{ role: "user", content: prompt }] } : { prompt };
    const body = { model, ...input, max_tokens: MAX_TOKENS, ignore_eos: true, seed: i, ...shape.body };
    const start = performance.now();
    const response = await fetch(`${url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    if (!response.ok) throw new Error(`${shape.name}: ${response.status} ${await response.text()}`);
    const answer = (await response.json()) as { usage: { completion_tokens: number } };
    if (i > 0) rates.push((answer.usage.completion_tokens * 1000) / (performance.now() - start));
  }
  return median(rates);
}

async function main(): Promise<void> {
  const binary = process.env.LLAMA_SERVER;
  const directory = mkdtempSync(join(tmpdir(), "bench-vocab-"));
  const ours = new Map<string, number>();
  const peer = new Map<string, number>();
  try {
    for (const vocab of VOCABS) {
      const path = join(directory, `random-${vocab}.gguf`);
      writeRandomLlama(path, { vocabSize: vocab, contextLength: CONTEXT, seed: 7 });
      const gateway = await spawnGateway({ TARGET_MODEL: path, TARGET_MODEL_ID: "target", DRAFT_MODEL: path, SPECULATION: "auto", SEQUENCES: "8", THREADS: "1", CONTEXT_SIZE: String(CONTEXT) });
      try {
        for (const shape of SHAPES) {
          const rate = await measure(gateway.url, shape, "target");
          ours.set(`${vocab}:${shape.name}`, rate);
          console.error(`V=${vocab} ours ${shape.name}: ${rate.toFixed(1)} tok/s`);
        }
      } finally {
        gateway.process.kill("SIGTERM");
        await gateway.exit;
      }
      if (binary !== undefined && vocab === PEER_VOCAB) {
        for (const withDraft of [false, true]) {
          const server: RunningLlamaServer = await launchLlamaServer({ binary, target: path, draft: withDraft ? path : null, draftMax: 4, threads: 1, contextSize: CONTEXT, parallel: 4 });
          try {
            for (const shape of SHAPES.filter((s) => s.peer !== null && (s.draft === true) === withDraft)) {
              const rate = await measure(server.url, { ...shape, body: shape.peer! }, "target");
              peer.set(`${vocab}:${shape.name}`, rate);
              console.error(`V=${vocab} llama-server ${shape.name}: ${rate.toFixed(1)} tok/s`);
            }
          } finally {
            await server.stop();
          }
        }
      }
      rmSync(path, { force: true });
    }
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
  report(ours, peer, binary !== undefined);
}

function report(ours: Map<string, number>, peer: Map<string, number>, withPeer: boolean): void {
  const v = (vocab: number) => (vocab >= 1024 ? `${Math.round(vocab / 1024)}k` : String(vocab));
  const header = [`| request | ${VOCABS.map((vocab) => `V = ${v(vocab)}`).join(" | ")} |${withPeer ? ` llama-server, V = ${v(PEER_VOCAB)} | ours / llama-server, V = ${v(PEER_VOCAB)} |` : ""}`];
  header.push(`|---|${VOCABS.map(() => "---:").join("|")}|${withPeer ? "---:|---:|" : ""}`);
  const last = PEER_VOCAB;
  const rows = SHAPES.map((shape) => {
    const cells = VOCABS.map((vocab) => (ours.get(`${vocab}:${shape.name}`) ?? NaN).toFixed(1));
    let tail = "";
    if (withPeer) {
      const mine = ours.get(`${last}:${shape.name}`)!;
      const theirs = peer.get(`${last}:${shape.name}`);
      tail = theirs === undefined
        ? ` - | ${(mine / ours.get(`${last}:${shape.baseline}`)!).toFixed(2)} of our ${shape.baseline} |`
        : ` ${theirs.toFixed(1)} | ${(mine / theirs).toFixed(2)} |`;
    }
    return `| ${shape.name} | ${cells.join(" | ")} |${tail}`;
  });
  console.log(`\ntokens/s, median over ${PROMPTS.length} prompts, ${MAX_TOKENS} tokens each, one request at a time; random llama GGUFs dim 64, 2 layers, draft = target\n`);
  console.log([...header, ...rows].join("\n"));
}

await main();
