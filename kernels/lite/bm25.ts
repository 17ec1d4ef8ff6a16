import bm25 from "wink-bm25-text-search";
import nlp from "wink-nlp-utils";

/** wink's BM25 setup: lower-case, tokenise, negations, stop words out, Porter-2 stems. */
const prepTasks = [nlp.string.lowerCase, nlp.string.tokenize0, nlp.tokens.propagateNegations, nlp.tokens.removeWords, nlp.tokens.stem];

/** wink refuses to consolidate fewer documents; see `bm25Scores`. */
const MIN_DOCUMENTS = 3;

/** A BM25 index (wink-bm25-text-search, k1 = 1.2, b = 0.75) over `documents`, searched by text. */
export class Bm25Index {
  private readonly engine = bm25();

  constructor(documents: readonly string[]) {
    this.engine.defineConfig({ fldWeights: { body: 1 }, bm25Params: { k1: 1.2, b: 0.75, k: 1 } });
    this.engine.definePrepTasks(prepTasks as ((input: never) => unknown)[]);
    documents.forEach((body, id) => this.engine.addDoc({ body }, id));
    // Empty documents change no term frequency: they only raise the document count the IDF
    // reads (keeping it positive), so the order of the real documents stays BM25's.
    for (let id = documents.length; id < MIN_DOCUMENTS; id++) this.engine.addDoc({ body: "" }, id);
    this.engine.consolidate(6);
    this.size = documents.length;
  }

  readonly size: number;

  /** The `limit` best documents for `query` as [index, score], best first; unmatched ones are left out. */
  search(query: string, limit: number): [number, number][] {
    return this.engine.search(query, limit).map(([id, score]) => [Number(id), score] as [number, number]).filter(([id]) => id < this.size);
  }

  /** A score for every document in order (0 where no query term occurs). */
  scores(query: string): number[] {
    const scores = new Array<number>(this.size).fill(0);
    for (const [id, score] of this.search(query, this.size)) scores[id] = score;
    return scores;
  }
}
