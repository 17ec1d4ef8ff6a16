/** Longest run of tokens one UTF-8 character can be split across in a byte-level vocabulary. */
const maxHeldTokens = 4;

/**
 * Turns tokens into text as they arrive, holding back tokens whose bytes do not yet form
 * complete UTF-8 (they decode to U+FFFD) so a streamed character is never split.
 */
export class IncrementalDetokenizer {
  private held: number[] = [];
  private readonly context: number[] = [];

  constructor(private readonly detokenize: (tokens: readonly number[], lastTokens: readonly number[]) => string) {}

  push(token: number): string {
    this.held.push(token);
    const text = this.detokenize(this.held, this.context);
    if (text.endsWith("\uFFFD") && this.held.length < maxHeldTokens) return "";
    return this.release(text);
  }

  flush(): string {
    return this.held.length === 0 ? "" : this.release(this.detokenize(this.held, this.context));
  }

  private release(text: string): string {
    this.context.push(...this.held);
    this.context.splice(0, Math.max(0, this.context.length - maxHeldTokens));
    this.held = [];
    return text;
  }
}
