/**
 * `npm run bench:gateway`: what the gateway adds over calling node-llama-cpp directly, on the
 * same model, prompts and settings (greedy, THREADS threads per context, 8 sequences).
 *
 *  - direct: `sequence.evaluate(prompt, { temperature: 0 })` in this process, one sequence per
 *    stream, all 8 sequences on one context (node-llama-cpp's own batching);
 *  - gateway: `npm start`'s entry point in a child process with its defaults (CONTEXTS auto),
 *    streamed /v1/completions over loopback.
 *
 * For 1 and 8 concurrent streams it reports time to first token and tokens/s (per stream and in
 * aggregate), as medians over rounds that alternate direct and gateway, and the ratios taken
 * within this one run. Nothing here is asserted: the figures go to the README.
 */
import { getLlama, LlamaLogLevel, type LlamaContextSequence, type LlamaModel } from "node-llama-cpp";
import { spawnGateway } from "../test/gateway-process.ts";

const modelPath = process.env.TARGET_MODEL ?? "models/target.gguf";
const threads = Number(process.env.THREADS ?? 1);
const sequences = 8;
const maxTokens = Number(process.env.BENCH_TOKENS ?? 128);
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const concurrencies = [1, 8];
const prompts = [
  "Once upon a time",
  "The history of the city begins",
  "In the morning the ship",
  "It was the best of times",
  "The president said that",
  "Call me Ishmael. Some years ago",
  "The whale rose from the sea",
  "We the people of the United States",
];

interface StreamFigures {
  ttftMs: number;
  tokens: number;
  ms: number;
}

interface RoundFigures {
  ttftMs: number;
  perStreamTokensPerSecond: number;
  aggregateTokensPerSecond: number;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

function summarise(streams: StreamFigures[], wallMs: number): RoundFigures {
  return {
    ttftMs: median(streams.map((stream) => stream.ttftMs)),
    perStreamTokensPerSecond: median(streams.map((stream) => (stream.tokens / stream.ms) * 1000)),
    aggregateTokensPerSecond: (streams.reduce((sum, stream) => sum + stream.tokens, 0) / wallMs) * 1000,
  };
}

/** Tokenising is inside the timing, as it is for the gateway. */
async function directStream(model: LlamaModel, sequence: LlamaContextSequence, text: string): Promise<StreamFigures> {
  const start = performance.now();
  const prompt = model.tokenize(text, false);
  let ttftMs = 0;
  let tokens = 0;
  for await (const token of sequence.evaluate(prompt, { temperature: 0, yieldEogToken: true })) {
    void token;
    if (tokens === 0) ttftMs = performance.now() - start;
    if (++tokens >= maxTokens) break;
  }
  return { ttftMs, tokens, ms: performance.now() - start };
}

async function gatewayStream(url: string, prompt: string): Promise<StreamFigures> {
  const start = performance.now();
  const response = await fetch(`${url}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "target", prompt, max_tokens: maxTokens, temperature: 0, ignore_eos: true, stream: true, stream_options: { include_usage: true } }),
  });
  if (response.status !== 200) throw new Error(`gateway answered ${response.status}: ${await response.text()}`);
  let ttftMs = 0;
  const chunks: Uint8Array[] = [];
  // The client shares the machine's two cores with the gateway: keep it to collecting bytes.
  for await (const bytes of response.body!) {
    if (ttftMs === 0) ttftMs = performance.now() - start;
    chunks.push(bytes as Uint8Array);
  }
  const ms = performance.now() - start;
  const usage = /"completion_tokens":(\d+)/.exec(Buffer.concat(chunks).toString("utf8").slice(-600));
  return { ttftMs, tokens: Number(usage?.[1] ?? 0), ms };
}

async function main(): Promise<void> {
  const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath });
  const context = await model.createContext({ contextSize: model.trainContextSize, sequences, threads, batchSize: 512 });
  const direct = Array.from({ length: sequences }, () => context.getSequence());
  const gateway = await spawnGateway({ TARGET_MODEL: modelPath, TARGET_MODEL_ID: "target", THREADS: String(threads), SEQUENCES: String(sequences), DRAFT_MODEL: "" });
  const figures = new Map<string, RoundFigures[]>();
  const add = (key: string, value: RoundFigures) => figures.set(key, [...(figures.get(key) ?? []), value]);
  try {
    for (let round = -1; round < rounds; round++) {
      for (const streams of concurrencies) {
        const chosen = prompts.slice(0, streams);
        let start = performance.now();
        const directFigures = await Promise.all(chosen.map((prompt, i) => directStream(model, direct[i]!, prompt)));
        const directRound = summarise(directFigures, performance.now() - start);
        await Promise.all(direct.map((sequence) => sequence.clearHistory()));
        start = performance.now();
        const gatewayFigures = await Promise.all(chosen.map((prompt) => gatewayStream(gateway.url, prompt)));
        const gatewayRound = summarise(gatewayFigures, performance.now() - start);
        if (round < 0) continue; // warm-up
        add(`direct:${streams}`, directRound);
        add(`gateway:${streams}`, gatewayRound);
      }
    }
  } finally {
    gateway.process.kill("SIGTERM");
    await gateway.exit;
    await context.dispose();
    await model.dispose();
    await llama.dispose();
  }
  const get = (key: string, field: keyof RoundFigures) => median(figures.get(key)!.map((round) => round[field]));
  const rows: string[] = [
    `| path | streams | TTFT ms (median) | tokens/s per stream | aggregate tokens/s |`,
    `|---|---:|---:|---:|---:|`,
  ];
  for (const streams of concurrencies) {
    for (const path of ["direct", "gateway"]) {
      const key = `${path}:${streams}`;
      rows.push(`| ${path} | ${streams} | ${get(key, "ttftMs").toFixed(2)} | ${get(key, "perStreamTokensPerSecond").toFixed(1)} | ${get(key, "aggregateTokensPerSecond").toFixed(1)} |`);
    }
  }
  const ratio = (a: number, b: number) => (a / b).toFixed(3);
  console.log(`model ${modelPath}, threads ${threads}, ${maxTokens} tokens per stream, greedy, ${rounds} rounds (medians)\n`);
  console.log(rows.join("\n"));
  console.log(`
| ratio (this run) | value | goal |
|---|---:|---|
| gateway / direct TTFT, 1 stream | ${ratio(get("gateway:1", "ttftMs"), get("direct:1", "ttftMs"))} | < 1.05 |
| gateway / direct tokens/s, 1 stream | ${ratio(get("gateway:1", "perStreamTokensPerSecond"), get("direct:1", "perStreamTokensPerSecond"))} | > 0.95 |
| gateway aggregate tokens/s, 8 streams / 1 stream | ${ratio(get("gateway:8", "aggregateTokensPerSecond"), get("gateway:1", "aggregateTokensPerSecond"))} | >= 1.5 |
| direct aggregate tokens/s, 8 streams / 1 stream | ${ratio(get("direct:8", "aggregateTokensPerSecond"), get("direct:1", "aggregateTokensPerSecond"))} | (reference) |`);
}

await main();
