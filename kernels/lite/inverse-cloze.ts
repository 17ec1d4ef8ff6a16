import { loadCorpus, type Document } from "../corpus.ts";
import { createRandom, type Random } from "../random.ts";
import { Bm25Index } from "./bm25.ts";
import { words } from "./words.ts";

/**
 * Inverse-cloze reranking data from the State of the Union addresses and Moby Dick: passages
 * of consecutive sentences; one sentence is the query, its passage without that sentence is the
 * relevant document (left in, exact overlap would make the task trivial), and the candidates
 * are BM25's best other passages (hard negatives) plus random ones.
 * Splits are by document: test is kernels/corpus.ts's validation documents (never trained on),
 * validation (learning rate and epoch choice) every 10th remaining document, train the rest.
 */
export interface TextExample {
  query: string;
  /** Candidate 0 is the relevant passage. */
  candidates: string[];
}

export interface RerankSplits {
  train: TextExample[];
  validation: TextExample[];
  test: TextExample[];
}

export interface SplitOptions {
  seed: number;
  /** Per split, at most this many queries (a seeded sample). */
  maxQueries: { train: number; validation: number; test: number };
  /** Candidates per query besides the relevant one, per split. */
  hardNegatives: { train: number; evaluation: number };
  randomNegatives: { train: number; evaluation: number };
}

const SENTENCES_PER_PASSAGE = 5;
const MIN_QUERY_WORDS = 6;
const VALIDATION_EVERY = 10;

export function sentences(text: string): string[] {
  return text.replace(/\s+/g, " ").split(/(?<=[.!?])\s+(?=["“'(]?[A-Z])/).map((s) => s.trim()).filter((s) => s.length > 0);
}

interface Passage {
  query: string;
  rest: string;
}

/** Passages of SENTENCES_PER_PASSAGE sentences, each with a seeded query sentence of at least MIN_QUERY_WORDS words. */
function passages(documents: readonly Document[], random: Random): Passage[] {
  const result: Passage[] = [];
  for (const document of documents) {
    const all = sentences(document.text);
    for (let start = 0; start + SENTENCES_PER_PASSAGE <= all.length; start += SENTENCES_PER_PASSAGE) {
      const group = all.slice(start, start + SENTENCES_PER_PASSAGE);
      const eligible = group.map((s, i) => i).filter((i) => words(group[i]!).length >= MIN_QUERY_WORDS);
      if (eligible.length === 0) continue;
      const pick = eligible[random.int(eligible.length)]!;
      result.push({ query: group[pick]!, rest: group.filter((_, i) => i !== pick).join(" ") });
    }
  }
  return result;
}

function examples(pool: Passage[], count: number, hard: number, sampled: number, random: Random): TextExample[] {
  const index = new Bm25Index(pool.map((passage) => passage.rest));
  const chosen = sample(pool.map((_, i) => i), count, random);
  return chosen.map((i) => {
    const hits = index.search(pool[i]!.query, hard + 1).map(([id]) => id).filter((id) => id !== i).slice(0, hard);
    const taken = new Set([i, ...hits]);
    const randoms: number[] = [];
    while (randoms.length < sampled && taken.size < pool.length) {
      const id = random.int(pool.length);
      if (taken.has(id)) continue;
      taken.add(id);
      randoms.push(id);
    }
    return { query: pool[i]!.query, candidates: [i, ...hits, ...randoms].map((id) => pool[id]!.rest) };
  });
}

export function rerankSplits(options: SplitOptions): RerankSplits {
  const corpus = loadCorpus();
  const random = createRandom(options.seed);
  const trainDocuments = corpus.train.filter((_, i) => i % VALIDATION_EVERY !== VALIDATION_EVERY - 1);
  const validationDocuments = corpus.train.filter((_, i) => i % VALIDATION_EVERY === VALIDATION_EVERY - 1);
  const { hardNegatives: hard, randomNegatives: sampled, maxQueries } = options;
  return {
    train: examples(passages(trainDocuments, random), maxQueries.train, hard.train, sampled.train, random),
    validation: examples(passages(validationDocuments, random), maxQueries.validation, hard.evaluation, sampled.evaluation, random),
    test: examples(passages(corpus.validation, random), maxQueries.test, hard.evaluation, sampled.evaluation, random),
  };
}

function sample<T>(items: T[], count: number, random: Random): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy.slice(0, count);
}
