/**
 * `npm run adapter -- <command>`: LoRA adapter files for tests and demos.
 *   random --base BASE.gguf --rank R --out FILE [--alpha A] [--seed S]
 *          [--targets attn_q,attn_v,...] [--magnitude M] [--type f32|f16] [--name NAME]
 *   check  --base BASE.gguf FILE
 */
import { existsSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { GgufFormatError } from "../gguf/errors.ts";
import { readGgufLayout } from "../gguf/reader.ts";
import { TensorType, type GgufLayout } from "../gguf/types.ts";
import type { LlamaConfig } from "../transformer/config.ts";
import { configFromGguf } from "../transformer/gguf-model.ts";
import { PROJECTIONS, projectionShape, type ProjectionName } from "../transformer/weights.ts";
import { AdapterError } from "./errors.ts";
import { effectiveScale } from "./format.ts";
import { DEFAULT_RANDOM_MAGNITUDE, randomLoraAdapter } from "./random.ts";
import { readLoraAdapter } from "./read.ts";
import type { LoraAdapter } from "./types.ts";
import { writeLoraAdapter, type AdapterTensorType } from "./write.ts";

const USAGE = `usage:
  npm run adapter -- random --base BASE.gguf --rank R --out FILE [--alpha A] [--seed S]
                           [--targets ${PROJECTIONS.join(",")}] [--magnitude M] [--type f32|f16] [--name NAME]
  npm run adapter -- check --base BASE.gguf FILE`;

/** A mistake in the command line: reported with the usage, exit code 2. */
class UsageError extends Error {}

function usage(message: string): never {
  throw new UsageError(message);
}

function integer(option: string, text: string, min: number, max: number): number {
  if (!/^[0-9]+$/.test(text)) usage(`--${option} must be an integer, got "${text}"`);
  const value = Number(text);
  if (value < min || value > max) usage(`--${option} must be between ${min} and ${max}, got ${value}`);
  return value;
}

function positive(option: string, text: string): number {
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value) || value <= 0) usage(`--${option} must be a positive number, got "${text}"`);
  return value;
}

function targetList(text: string): ProjectionName[] {
  const names = text.split(",").map((s) => s.trim());
  for (const name of names) {
    if (!(PROJECTIONS as readonly string[]).includes(name)) usage(`--targets: unknown projection "${name}" (choose from ${PROJECTIONS.join(", ")})`);
  }
  if (new Set(names).size !== names.length) usage(`--targets lists a projection twice: ${text}`);
  return names as ProjectionName[];
}

function tensorType(text: string): AdapterTensorType {
  if (text === "f32") return TensorType.F32;
  if (text === "f16") return TensorType.F16;
  return usage(`--type must be f32 or f16, got "${text}"`);
}

/** The base's header only: shapes and metadata, whatever its size and quantization. */
function loadBase(path: string | undefined): { file: GgufLayout; config: LlamaConfig } {
  if (!path) usage("--base is required");
  if (!existsSync(path) || !statSync(path).isFile()) usage(`--base ${path}: no such file`);
  const file = readGgufLayout(path);
  return { file, config: configFromGguf(file) };
}

function describe(path: string, adapter: LoraAdapter): string {
  const targets = [...new Set(adapter.weights.map((w) => w.projection))].join(",");
  const layers = new Set(adapter.weights.map((w) => w.layer)).size;
  return `${path}: LoRA "${adapter.name}" for ${adapter.architecture}, rank ${adapter.rank}, alpha ${adapter.alpha} ` +
    `(scale ${effectiveScale(adapter.alpha, adapter.rank)} at adapter scale 1), ${targets} in ${layers} layers`;
}

function random(argv: string[]): void {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      base: { type: "string" }, rank: { type: "string" }, out: { type: "string" }, alpha: { type: "string" },
      seed: { type: "string" }, targets: { type: "string" }, magnitude: { type: "string" }, type: { type: "string" },
      name: { type: "string" },
    },
  });
  if (values.rank === undefined) usage("--rank is required");
  if (values.out === undefined) usage("--out is required");
  const targets = values.targets === undefined ? [...PROJECTIONS] : targetList(values.targets);
  const type = values.type === undefined ? TensorType.F32 : tensorType(values.type);
  const out = resolve(values.out);
  if (existsSync(out) && statSync(out).isDirectory()) usage(`--out ${values.out} is a directory`);
  if (!existsSync(dirname(out)) || !statSync(dirname(out)).isDirectory()) usage(`--out ${values.out}: directory ${dirname(out)} does not exist`);
  const { file, config } = loadBase(values.base);
  if (out === resolve(file.path)) usage("--out must not overwrite the base model");
  const maxRank = Math.min(...targets.flatMap((t) => projectionShape(config, t)));
  const rank = integer("rank", values.rank, 1, maxRank);
  const alpha = values.alpha === undefined ? undefined : positive("alpha", values.alpha);
  const seed = values.seed === undefined ? 0 : integer("seed", values.seed, 0, 2 ** 32 - 1);
  const magnitude = values.magnitude === undefined ? DEFAULT_RANDOM_MAGNITUDE : positive("magnitude", values.magnitude);
  const adapter = randomLoraAdapter(config, { rank, alpha, seed, targets, magnitude, name: values.name });
  writeLoraAdapter(out, adapter, { type });
  // Read back against the base: what we hand out is exactly what the gateway accepts.
  console.log(`wrote ${describe(values.out, readLoraAdapter(out, file))}`);
}

function check(argv: string[]): void {
  const { values, positionals } = parseArgs({ args: argv, strict: true, allowPositionals: true, options: { base: { type: "string" } } });
  if (positionals.length !== 1) usage("check takes exactly one adapter file");
  const { file } = loadBase(values.base);
  console.log(`ok ${describe(positionals[0]!, readLoraAdapter(positionals[0]!, file))}`);
}

const commands: Record<string, (argv: string[]) => void> = { random, check };

function main(argv: string[]): number {
  const [command, ...rest] = argv;
  try {
    const run = command === undefined ? undefined : commands[command];
    if (!run) usage(command === undefined ? "no command given" : `unknown command "${command}"`);
    run!(rest);
    return 0;
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      console.error(`adapter: ${(error as Error).message}\n${USAGE}`);
      return 2;
    }
    if (error instanceof AdapterError || error instanceof GgufFormatError) {
      console.error(`adapter: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

process.exitCode = main(process.argv.slice(2));
