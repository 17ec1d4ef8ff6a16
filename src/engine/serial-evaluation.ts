import type { LlamaContextSequence } from "node-llama-cpp";

/**
 * Makes the sequences of one context evaluate one call at a time.
 *
 * node-llama-cpp 3.21.1 batches concurrent `controlledEvaluate` calls on sequences of one
 * context into one llama.cpp decode, and under that batching it sometimes hands a sequence
 * another sequence's output: with 4 concurrent greedy streams on one context, 5 of 20 prompts
 * got a token the model gives p < 0.003, swapped with a neighbour's at the same step
 * (test/concurrent-decoding.test.ts checks it stays fixed). Until that is fixed upstream,
 * each context decodes one call at a time and parallelism comes from separate contexts
 * (CONTEXTS). On this 2-core CPU batching inside a context gained no throughput
 * (`npm run bench:gateway`), so correctness costs little here; on a GPU it costs batching.
 */
export function serializeEvaluations(sequences: readonly LlamaContextSequence[]): void {
  let tail: Promise<unknown> = Promise.resolve();
  for (const sequence of sequences) {
    const evaluate = sequence.controlledEvaluate.bind(sequence);
    sequence.controlledEvaluate = ((...args: Parameters<LlamaContextSequence["controlledEvaluate"]>) => {
      const run = tail.then(() => evaluate(...args));
      tail = run.catch(() => undefined);
      return run;
    }) as LlamaContextSequence["controlledEvaluate"];
  }
}
