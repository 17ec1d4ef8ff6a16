/**
 * A standalone reproduction of node-llama-cpp's batched-output race, using node-llama-cpp alone
 * (for an upstream report): 8 sequences of one context decode greedily at once, each through
 * its own `controlledEvaluate` calls (node-llama-cpp batches them into one llama.cpp decode),
 * and every output is compared with the same prompt decoded alone.
 *
 * Cause (3.21.1): after a decode with several sequences, llama.cpp reorders output rows lazily
 * inside the first `llama_get_logits_ith` (`output_reorder` mutates the logits buffer, then
 * clears its swap list), and node-llama-cpp runs the `sampleToken` calls of a batch
 * concurrently on worker threads, so two of them can reorder at once and read another row.
 * 3.22.1 takes a mutex around reading the candidates (AddonSampler::setTokenCandidates).
 *
 *   npm run bench:batch-race                        # the installed node-llama-cpp (3.22.1): 0 expected
 *   NODE_LLAMA_CPP=/tmp/nlc321/node_modules/node-llama-cpp npm run bench:batch-race
 *                                                   # another install, e.g. `npm i node-llama-cpp@3.21.1` in /tmp/nlc321
 * Options: MODEL (models/target.gguf), ROUNDS (3), TOKENS (32).
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type * as NodeLlamaCpp from "node-llama-cpp";

const SEQUENCES = 8;
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const TOKENS = Number(process.env.TOKENS ?? 32);
const PROMPTS = [
  "The President said that the nation", "Call me Ishmael. Some years ago", "In the year of our Lord", "The Congress shall have power",
  "It was the whale that", "We the people of the United States", "The sea was calm and", "Fellow citizens of the Senate",
  "There now is your insular city", "The state of the Union is", "Whenever I find myself growing grim", "Our foreign relations",
  "The harpooneer was a man", "It is with great satisfaction", "The ship sailed out of", "Four score and seven years ago",
  "The captain stood upon the deck", "The revenue of the government", "Queequeg was a native of", "The army and the navy",
  "Of all the tortures", "The treasury reports that", "Stubb was the second mate", "The people have decided",
];

const library: typeof NodeLlamaCpp = process.env.NODE_LLAMA_CPP === undefined
  ? await import("node-llama-cpp")
  : await import(pathToFileURL(resolve(process.env.NODE_LLAMA_CPP, "dist/index.js")).href);
const llama = await library.getLlama({ gpu: false, logLevel: library.LlamaLogLevel.error });
const model = await llama.loadModel({ modelPath: process.env.MODEL ?? "models/target.gguf" });
const context = await model.createContext({ contextSize: 256, sequences: SEQUENCES, threads: 1 });
const sequences = Array.from({ length: SEQUENCES }, () => context.getSequence());

/** Greedy decoding of `prompt` on one sequence, one controlledEvaluate call per token. */
async function decode(sequence: NodeLlamaCpp.LlamaContextSequence, prompt: string): Promise<string> {
  await sequence.clearHistory();
  let input: NodeLlamaCpp.Token[] = model.tokenize(prompt);
  const out: number[] = [];
  for (let i = 0; i < TOKENS; i++) {
    const items: NodeLlamaCpp.ControlledEvaluateInputItem[] = [...input.slice(0, -1), [input[input.length - 1]!, { generateNext: { token: true, options: { temperature: 0 } } }]];
    const results = await sequence.controlledEvaluate(items);
    const token = results[items.length - 1]!.next.token!;
    out.push(token);
    input = [token];
  }
  return out.join(",");
}

const alone: string[] = [];
for (const prompt of PROMPTS) alone.push(await decode(sequences[0]!, prompt));

let runs = 0;
let wrong = 0;
for (let round = 0; round < ROUNDS; round++) {
  let next = 0;
  const outputs: string[] = new Array(PROMPTS.length);
  await Promise.all(sequences.map(async (sequence) => {
    while (next < PROMPTS.length) {
      const i = next++;
      outputs[i] = await decode(sequence, PROMPTS[i]!);
    }
  }));
  const differing = outputs.filter((output, i) => output !== alone[i]).length;
  runs += PROMPTS.length;
  wrong += differing;
  console.log(`round ${round + 1}: ${differing} of ${PROMPTS.length} prompts decoded differently with ${SEQUENCES} sequences batched`);
}
const version = (library as unknown as { version?: string }).version ?? process.env.NODE_LLAMA_CPP ?? "installed";
console.log(`node-llama-cpp ${version}: ${wrong} of ${runs} runs differed from solo decoding`);
await model.dispose();
await llama.dispose();
process.exit(0);
