/**
 * Compares two forge manifests: did a second `npm run forge` reproduce the first?
 *   npx tsx kernels/forge/compare.ts models/manifest.json /tmp/forge-repro/manifest.json
 * Every figure the forge computes (file hashes, parameter counts, validation figures,
 * tokens seen, final losses) must match; wall times are printed, never compared. Exit
 * code 0 when all match, 1 otherwise.
 */
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

export interface ManifestRow {
  figure: string;
  a: string | number | undefined;
  b: string | number | undefined;
  same: boolean;
}

/** Relative tolerance for floating-point figures: the forge is deterministic, so it is tiny. */
const TOLERANCE = 1e-9;

const at = (manifest: unknown, path: readonly string[]): string | number | undefined => {
  const value = path.reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], manifest);
  return typeof value === "string" || typeof value === "number" ? value : undefined;
};

/** Figures compared between runs, as key paths into the manifest. */
export const COMPARED: readonly (readonly string[])[] = [
  ["files", "target.gguf", "sha256"],
  ["files", "draft.gguf", "sha256"],
  ["target", "params"],
  ["draft", "params"],
  ["target", "valid_bits_per_byte"],
  ["draft", "valid_bits_per_byte"],
  ["pair", "expected_acceptance"],
  ["pair", "argmax_agreement"],
  ["pair", "validation_positions"],
  ["training", "seed"],
  ["training", "tokens_seen"],
  ["training", "train_tokens"],
  ["training", "validation_tokens"],
  ["training", "stage_a", "final_loss"],
  ["training", "stage_b", "final_loss"],
];

export function compareManifests(a: unknown, b: unknown): ManifestRow[] {
  return COMPARED.map((path) => {
    const x = at(a, path);
    const y = at(b, path);
    const same =
      x !== undefined &&
      y !== undefined &&
      (typeof x === "number" && typeof y === "number" ? Math.abs(x - y) <= TOLERANCE * Math.max(1, Math.abs(x), Math.abs(y)) : x === y);
    return { figure: path.join("."), a: x, b: y, same };
  });
}

function main(argv: string[]): number {
  if (argv.length !== 2) {
    console.error("usage: npx tsx kernels/forge/compare.ts MANIFEST_A MANIFEST_B");
    return 2;
  }
  const [a, b] = argv.map((path) => JSON.parse(readFileSync(path!, "utf8")) as unknown);
  const rows = compareManifests(a, b);
  console.log(`| figure | ${argv[0]} | ${argv[1]} | same |\n|---|---|---|---|`);
  for (const row of rows) console.log(`| ${row.figure} | ${row.a} | ${row.b} | ${row.same ? "yes" : "NO"} |`);
  console.log(`| training.wall_time_seconds (not compared) | ${at(a, ["training", "wall_time_seconds"])} | ${at(b, ["training", "wall_time_seconds"])} | |`);
  const differing = rows.filter((row) => !row.same).length;
  console.log(differing ? `${differing} figure(s) differ` : "all compared figures match");
  return differing ? 1 : 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) process.exitCode = main(process.argv.slice(2));
