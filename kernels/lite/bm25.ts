import okapiModule from "okapibm25";
import bm25 from "wink-bm25-text-search";
import nlp from "wink-nlp-utils";

// okapibm25 is CommonJS with `exports.default`: Node's default import is the whole module.exports.
const okapiBm25 = okapiModule.default;

/** wink's BM25 setup: lower-case, tokenise, negations, stop words out, Porter-2 stems. */
const prepTasks = [nlp.string.lowerCase, nlp.string.tokenize0, nlp.tokens.propagateNegations, nlp.tokens.removeWords, nlp.tokens.stem];

/** wink refuses to consolidate fewer documents; smaller collections are scored by `smallCollectionScores`. */
const MIN_DOCUMENTS = 3;
const k1 = 1.2;
const b = 0.75;

/**
 * A BM25 index (wink-bm25-text-search, k1 = 1.2, b = 0.75) over documents, searched by text:
 * given them all at once, or added one by one (a caller can then pause between them) and
 * consolidated.
 */
export class Bm25Index {
  private readonly engine = bm25();
  private readonly bodies: string[] = [];

  constructor(documents: readonly string[] = []) {
    this.engine.defineConfig({ fldWeights: { body: 1 }, bm25Params: { k1, b, k: 1 } });
    this.engine.definePrepTasks(prepTasks as ((input: never) => unknown)[]);
    if (documents.length === 0) return;
    for (const body of documents) this.add(body);
    this.consolidate();
  }

  get size(): number {
    return this.bodies.length;
  }

  add(body: string): void {
    this.engine.addDoc({ body }, this.bodies.length);
    this.bodies.push(body);
  }

  /** Computes the IDFs; search from then on, add no more. */
  consolidate(): void {
    if (this.size >= MIN_DOCUMENTS) this.engine.consolidate(6);
  }

  /** The `limit` best documents for `query` as [index, score], best first; unmatched ones are left out. */
  search(query: string, limit: number): [number, number][] {
    if (this.size < MIN_DOCUMENTS) {
      const ranked = smallCollectionScores(this.bodies, query).map((score, id) => [id, score] as [number, number]);
      return ranked.filter(([, score]) => score > 0).sort((x, y) => y[1] - x[1] || x[0] - y[0]).slice(0, limit);
    }
    return this.engine.search(query, limit).map(([id, score]) => [Number(id), score] as [number, number]);
  }

  /** A score for every document in order (0 where no query term occurs). */
  scores(query: string): number[] {
    const scores = new Array<number>(this.size).fill(0);
    for (const [id, score] of this.search(query, this.size)) scores[id] = score;
    return scores;
  }
}

/**
 * BM25 over any number of documents with okapibm25 (the same k1, b and IDF,
 * log((N - n + 0.5) / (n + 0.5) + 1), as wink with k = 1), on wink's prepared tokens. Padding
 * wink's collection to 3 documents instead changed the real documents' scores (the IDF's N and
 * the average length), and their order in about 0.6% of random 2-document cases. okapibm25
 * matches terms as regular expressions inside the text and counts words with \w, so each
 * distinct token is handed to it as a fixed-width code: exactly one word, matching only itself.
 */
export function smallCollectionScores(documents: readonly string[], query: string): number[] {
  const codes = new Map<string, string>();
  const code = (token: string): string => {
    let coded = codes.get(token);
    if (coded === undefined) codes.set(token, (coded = `t${String(codes.size).padStart(6, "0")}`));
    return coded;
  };
  const coded = documents.map((text) => prepare(text).map(code).join(" "));
  const keywords = prepare(query).filter((token) => codes.has(token)).map(code);
  if (keywords.length === 0) return documents.map(() => 0);
  return okapiBm25(coded, keywords, { k1, b }) as number[];
}

/** wink's preparation of a text: the prep tasks in order. */
function prepare(text: string): string[] {
  const [lowerCase, tokenize, ...tokenTasks] = prepTasks;
  return (tokenTasks as ((tokens: string[]) => string[])[]).reduce((tokens, task) => task(tokens), (tokenize as (text: string) => string[])((lowerCase as (text: string) => string)(text)));
}
