/**
 * A grammar's evaluation state for one choice, on node-llama-cpp's internals (pinned to 3.22.1;
 * test/spectr-grammar.test.ts checks what is relied on here, against llama.cpp's own token check).
 *
 * Why internals: node-llama-cpp's native sampler ACCEPTS the token it selects into the grammar
 * state it was configured with, on every `sampleToken` call (AddonContext.cpp, after the draw).
 * The engine reads one output several times (native/outputs.ts) and SpecTr reads outputs at
 * draft positions that may never be accepted, so every read gets a clone of the state and the
 * choice's own state advances only through `advance`, on accepted tokens.
 */
import { LlamaGrammarEvaluationState, type LlamaGrammar, type LlamaModel, type Token } from "node-llama-cpp";

interface StateInternals {
  _llama: {
    _bindings: {
      AddonSampler: {
        acceptGrammarEvaluationStateToken(state: unknown, token: number): void;
        canBeNextTokenForGrammarEvaluationState(state: unknown, token: number): boolean;
      };
    };
  };
  _state: unknown;
}

export class GrammarState {
  private constructor(
    private readonly model: LlamaModel,
    private readonly state: LlamaGrammarEvaluationState,
  ) {}

  /** The grammar's start state (nothing generated yet). */
  static start(model: LlamaModel, grammar: LlamaGrammar): GrammarState {
    return new GrammarState(model, new LlamaGrammarEvaluationState({ model, grammar }));
  }

  /** An independent copy: advancing one never moves the other. */
  fork(): GrammarState {
    return new GrammarState(this.model, this.state.clone());
  }

  /**
   * Moves past an accepted token. End-of-generation tokens are not grammar text and are skipped,
   * as the native sampler skips them (llama.cpp aborts the process on an end token the grammar
   * does not allow, and SpecTr's drafts may hold one).
   */
  advance(token: number): void {
    if (this.model.isEogToken(token as Token)) return;
    const internals = this.state as unknown as StateInternals;
    internals._llama._bindings.AddonSampler.acceptGrammarEvaluationStateToken(internals._state, token);
  }

  /** The state after `tokens`, this one untouched. */
  after(tokens: readonly number[]): GrammarState {
    const next = this.fork();
    for (const token of tokens) next.advance(token);
    return next;
  }

  /** Whether the grammar allows `token` next, by llama.cpp's own single-token check (independent of the engine's masked reads). */
  allows(token: number): boolean {
    const internals = this.state as unknown as StateInternals;
    return internals._llama._bindings.AddonSampler.canBeNextTokenForGrammarEvaluationState(internals._state, token);
  }

  /** A native state for one read (the read's own sampler advances it, so it is a fresh copy). */
  forRead(): unknown {
    return (this.state.clone() as unknown as StateInternals)._state;
  }
}
