import type { LlamaContextSequence } from "node-llama-cpp";
import type { Random } from "../../../kernels/random.ts";
import type { GrammarState } from "../native/grammar-state.ts";
import type { SamplingParams } from "../sampling/params.ts";

/** What a decoding strategy works on for one choice. */
export interface DecodingState {
  readonly target: LlamaContextSequence;
  readonly sampling: SamplingParams;
  readonly random: Random;
  /** Alternatives to report per token: null none, 0 the chosen token's logprob only. */
  readonly logprobs: number | null;
  /** Tokens generated so far (penalties look at these). */
  readonly history: readonly number[];
  /**
   * The grammar state after `history`, when the choice is constrained: every read masks what it
   * refuses. Strategies never advance it (the generation loop does, on accepted tokens).
   */
  readonly grammar?: GrammarState;
}

export interface DecodedToken {
  token: number;
  /** Natural-log probability under the model's raw distribution (under a grammar, the constrained one); null when not asked for. */
  logprob: number | null;
  top: { token: number; logprob: number }[] | null;
}

/**
 * The extension point for how tokens are chosen: plain decoding, or SpecTr on target and
 * draft sequences of its own. A strategy evaluates `input` (tokens the target sequence has
 * not seen yet) and returns one or more next tokens, in order.
 */
export interface DecodingStrategy {
  readonly name: string;
  next(input: readonly number[], state: DecodingState): Promise<DecodedToken[]>;
}
