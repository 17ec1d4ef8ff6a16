import type { LlamaContextSequence } from "node-llama-cpp";
import { createRandom } from "../../kernels/random.ts";
import type { DecodedToken, DecodingStrategy } from "./decoding/strategy.ts";
import type { GrammarState } from "./native/grammar-state.ts";
import type { SamplingParams } from "./sampling/params.ts";
import type { ServedModel } from "./served-model.ts";
import { IncrementalDetokenizer } from "./text/detokenizer.ts";
import { StopMatcher } from "./text/stop-matcher.ts";

export interface ChoiceRequest {
  prompt: readonly number[];
  /** Leading prompt tokens the sequence has already evaluated (scoring the prompt does that). */
  evaluated: number;
  maxTokens: number;
  sampling: SamplingParams;
  /** This choice's own seed (derived from the request's seed and the choice index). */
  seed: number;
  stop: readonly string[];
  stopTokenIds: ReadonlySet<number>;
  ignoreEos: boolean;
  /** null: no logprobs; 0: only the chosen tokens'. */
  logprobs: number | null;
  /** The choice's grammar state: advanced here on every accepted token, read by the strategy. */
  grammar?: GrammarState;
  signal: AbortSignal;
}

export interface ChoiceDelta {
  text: string;
  tokens: DecodedToken[];
}

export interface ChoiceOutcome {
  finishReason: "stop" | "length";
  completionTokens: number;
  /** Sum of the chosen tokens' logprobs (when logprobs were asked for), for best_of ranking. */
  logprobSum: number;
}

/**
 * Generates one choice on one leased sequence: feeds the prompt, asks the strategy for tokens
 * until EOS, a stop token or string, or max_tokens, and yields text as soon as it is safe to
 * show (complete UTF-8, not part of a possible stop string). Aborting `signal` stops it between
 * evaluation steps by throwing the signal's reason.
 */
export async function* generateChoice(
  model: ServedModel,
  target: LlamaContextSequence,
  strategy: DecodingStrategy,
  request: ChoiceRequest,
): AsyncGenerator<ChoiceDelta, ChoiceOutcome> {
  const detokenizer = new IncrementalDetokenizer((tokens, last) => model.detokenize(tokens, last));
  const stopper = new StopMatcher(request.stop);
  const random = createRandom(request.seed);
  const history: number[] = [];
  let input: readonly number[] = request.prompt.slice(request.evaluated);
  let logprobSum = 0;
  const grammar = request.grammar;
  while (history.length < request.maxTokens) {
    request.signal.throwIfAborted();
    const produced = await strategy.next(input, { target, sampling: request.sampling, random, logprobs: request.logprobs, history, ...(grammar === undefined ? {} : { grammar }) });
    const accepted: DecodedToken[] = [];
    let text = "";
    let ended = false;
    for (const decoded of produced) {
      if (isEnd(model, request, decoded.token)) {
        ended = true;
        break;
      }
      history.push(decoded.token);
      grammar?.advance(decoded.token);
      accepted.push(decoded);
      logprobSum += decoded.logprob ?? 0;
      text += stopper.push(detokenizer.push(decoded.token));
      if (stopper.hasStopped || history.length >= request.maxTokens) break;
    }
    if (ended || stopper.hasStopped) {
      yield { text: text + stopper.push(detokenizer.flush()) + stopper.flush(), tokens: accepted };
      return { finishReason: "stop", completionTokens: history.length, logprobSum };
    }
    if (text.length > 0 || accepted.length > 0) yield { text, tokens: accepted };
    input = [history[history.length - 1]!];
  }
  const rest = stopper.push(detokenizer.flush()) + stopper.flush();
  if (rest.length > 0) yield { text: rest, tokens: [] };
  return { finishReason: stopper.hasStopped ? "stop" : "length", completionTokens: history.length, logprobSum };
}

function isEnd(model: ServedModel, request: ChoiceRequest, token: number): boolean {
  return request.stopTokenIds.has(token) || (!request.ignoreEos && model.isEndOfGeneration(token));
}
