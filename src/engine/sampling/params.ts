/** What a request asks of token selection, in engine terms (validated and defaulted at the edge). */
export interface SamplingParams {
  /** 0 selects the most probable token (greedy, deterministic). */
  temperature: number;
  /** 0 disables. */
  topK: number;
  /** 1 disables. */
  topP: number;
  /** 0 disables. */
  minP: number;
  presencePenalty: number;
  frequencyPenalty: number;
  /** llama.cpp-style multiplicative penalty; 1 disables. */
  repetitionPenalty: number;
  /** token id -> additive logit bias; -100 bans the token. */
  logitBias: ReadonlyMap<number, number>;
  /** Undefined: a fresh random seed per request. */
  seed: number | undefined;
}

export const greedy: SamplingParams = {
  temperature: 0,
  topK: 0,
  topP: 1,
  minP: 0,
  presencePenalty: 0,
  frequencyPenalty: 0,
  repetitionPenalty: 1,
  logitBias: new Map(),
  seed: undefined,
};

export function hasPenalties(params: SamplingParams): boolean {
  return params.presencePenalty !== 0 || params.frequencyPenalty !== 0 || params.repetitionPenalty !== 1;
}
