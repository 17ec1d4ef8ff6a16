import bm25 from "wink-bm25-text-search";
import nlp from "wink-nlp-utils";

/** wink's BM25 setup: lower-case, tokenise, negations, stop words out, Porter-2 stems. */
const prepTasks = [nlp.string.lowerCase, nlp.string.tokenize0, nlp.tokens.propagateNegations, nlp.tokens.removeWords, nlp.tokens.stem];

/** wink refuses to consolidate fewer documents; see `bm25Scores`. */
const MIN_DOCUMENTS = 3;

/**
 * A BM25 index (wink-bm25-text-search, k1 = 1.2, b = 0.75) over documents, searched by text:
 * given them all at once, or added one by one (a caller can then pause between them) and
 * consolidated.
 */
export class Bm25Index {
  private readonly engine = bm25();
  private count = 0;

  constructor(documents: readonly string[] = []) {
    this.engine.defineConfig({ fldWeights: { body: 1 }, bm25Params: { k1: 1.2, b: 0.75, k: 1 } });
    this.engine.definePrepTasks(prepTasks as ((input: never) => unknown)[]);
    if (documents.length === 0) return;
    for (const body of documents) this.add(body);
    this.consolidate();
  }

  get size(): number {
    return this.count;
  }

  add(body: string): void {
    this.engine.addDoc({ body }, this.count++);
  }

  /** Computes the IDFs; search from then on, add no more. */
  consolidate(): void {
    // Empty documents change no term frequency: they only raise the document count the IDF
    // reads (keeping it positive), so the order of the real documents stays BM25's.
    for (let id = this.count; id < MIN_DOCUMENTS; id++) this.engine.addDoc({ body: "" }, id);
    this.engine.consolidate(6);
  }

  /** The `limit` best documents for `query` as [index, score], best first; unmatched ones are left out. */
  search(query: string, limit: number): [number, number][] {
    return this.engine.search(query, limit).map(([id, score]) => [Number(id), score] as [number, number]).filter(([id]) => id < this.count);
  }

  /** A score for every document in order (0 where no query term occurs). */
  scores(query: string): number[] {
    const scores = new Array<number>(this.count).fill(0);
    for (const [id, score] of this.search(query, this.count)) scores[id] = score;
    return scores;
  }
}
