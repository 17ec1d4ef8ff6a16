/**
 * Reads LoRA GGUF adapters and validates them against a base model. Everything
 * llama.cpp's loader would reject (or abort on) is refused first with an
 * `AdapterError`; so is everything our tfjs forward could not apply identically
 * (tensors other than the seven layer projections, mixed ranks, aLoRA, non-finite values).
 */
import { readFileSync, statSync } from "node:fs";
import { UnsupportedTensorTypeError } from "../gguf/errors.ts";
import { parseGguf, tensorValues, type GgufFile, type GgufTensorInfo } from "../gguf/reader.ts";
import { GgufValueType, type GgufLayout } from "../gguf/types.ts";
import type { LlamaConfig } from "../transformer/config.ts";
import { PROJECTIONS, projectionShape, type ProjectionName } from "../transformer/weights.ts";
import { AdapterError, AdapterFormatError, AdapterMismatchError } from "./errors.ts";
import { ADAPTER_KEYS, ADAPTER_TYPE_LORA, GENERAL_TYPE_ADAPTER, loraTensorNames, parseLoraTensorName } from "./format.ts";
import { metadataTypes } from "./metadata-types.ts";
import type { LoraAdapter, LoraWeight } from "./types.ts";

/**
 * A base model: its GGUF layout (tensor shapes checked one by one, as llama.cpp does; no tensor
 * data needed, so any quantization llama.cpp loads will do) or its llama config.
 */
export type AdapterBase = GgufLayout | LlamaConfig;

export interface AdapterTarget {
  layer: number;
  projection: ProjectionName;
  inDim: number;
  outDim: number;
  a: GgufTensorInfo;
  b: GgufTensorInfo;
}

/** What a valid adapter file declares, before any tensor data is decoded. */
export interface AdapterSummary {
  path: string;
  architecture: string;
  name: string;
  rank: number;
  alpha: number;
  targets: AdapterTarget[];
}

/** Checks the file is a LoRA adapter that fits `base`; decodes no tensor data. */
export function validateAgainstBase(file: GgufFile, base: AdapterBase): AdapterSummary {
  const summary = checkFormat(file);
  checkFitsBase(summary, base);
  return summary;
}

export function parseLoraAdapter(bytes: Uint8Array, path: string, base: AdapterBase): LoraAdapter {
  let file: GgufFile;
  try {
    file = parseGguf(bytes, path);
  } catch (error) {
    throw new AdapterFormatError(path, `not a readable GGUF file: ${(error as Error).message}`, undefined, { cause: error });
  }
  return decodeAdapter(file, validateAgainstBase(file, base));
}

export function readLoraAdapter(path: string, base: AdapterBase): LoraAdapter {
  let bytes: Uint8Array;
  try {
    if (!statSync(path).isFile()) throw new Error("not a regular file");
    bytes = readFileSync(path);
  } catch (error) {
    throw new AdapterError("unreadable", path, `cannot read the file: ${(error as Error).message}`, undefined, { cause: error });
  }
  return parseLoraAdapter(bytes, path, base);
}

function checkFormat(file: GgufFile): AdapterSummary {
  const fail = (message: string, tensor?: string): never => {
    throw new AdapterFormatError(file.path, message, tensor);
  };
  const types = metadataTypes(file.bytes, fail);
  const stringKey = (key: string): string => {
    const type = types.get(key);
    if (type === undefined) return fail(`metadata ${key} is missing`);
    if (type !== GgufValueType.STRING) return fail(`metadata ${key} must be a string, has GGUF type ${GgufValueType[type] ?? type}`);
    return file.metadata.get(key) as string;
  };
  const generalType = stringKey(ADAPTER_KEYS.generalType);
  if (generalType !== GENERAL_TYPE_ADAPTER) fail(`${ADAPTER_KEYS.generalType} is "${generalType}", expected "${GENERAL_TYPE_ADAPTER}"`);
  const adapterType = stringKey(ADAPTER_KEYS.adapterType);
  if (adapterType !== ADAPTER_TYPE_LORA) fail(`${ADAPTER_KEYS.adapterType} is "${adapterType}", expected "${ADAPTER_TYPE_LORA}"`);
  const architecture = stringKey(ADAPTER_KEYS.architecture);
  if (architecture === "") fail(`${ADAPTER_KEYS.architecture} is empty`);
  const name = types.get(ADAPTER_KEYS.name) === GgufValueType.STRING ? (file.metadata.get(ADAPTER_KEYS.name) as string) : "";
  const alphaType = types.get(ADAPTER_KEYS.alpha);
  if (alphaType === undefined) fail(`metadata ${ADAPTER_KEYS.alpha} is missing`);
  if (alphaType !== GgufValueType.FLOAT32) fail(`metadata ${ADAPTER_KEYS.alpha} must be a float32, has GGUF type ${GgufValueType[alphaType!] ?? alphaType}`);
  const alpha = file.metadata.get(ADAPTER_KEYS.alpha) as number;
  if (!(Number.isFinite(alpha) && alpha > 0)) fail(`${ADAPTER_KEYS.alpha} must be a positive number, got ${alpha}`);
  if (types.has(ADAPTER_KEYS.aloraInvocationTokens)) fail("activated LoRA (aLoRA) adapters are not supported");

  const pairs = new Map<string, { layer: number; projection: ProjectionName; a?: GgufTensorInfo; b?: GgufTensorInfo }>();
  for (const info of file.tensors.values()) {
    const parsed = parseLoraTensorName(info.name);
    if (!parsed) fail("unexpected tensor: only blk.<layer>.<projection>.weight.lora_a/lora_b are supported", info.name);
    const { layer, projection, part } = parsed!;
    if (info.shape.length !== 2) fail(`must be a matrix, has shape [${info.shape.join(", ")}]`, info.name);
    const key = `${layer}.${projection}`;
    const pair = pairs.get(key) ?? { layer, projection };
    pair[part] = info;
    pairs.set(key, pair);
  }
  if (pairs.size === 0) fail("has no LoRA tensors");
  let rank: number | undefined;
  const targets: AdapterTarget[] = [];
  for (const { layer, projection, a, b } of pairs.values()) {
    const names = loraTensorNames(layer, projection);
    if (!a || !b) fail(`LoRA pair for ${names.base} is missing ${a ? "lora_b" : "lora_a"}`, a ? names.b : names.a);
    const [inDim, rankA] = a!.shape as [number, number];
    const [rankB, outDim] = b!.shape as [number, number];
    if (rankA !== rankB) fail(`lora_a has ggml shape [${a!.shape.join(", ")}] and lora_b [${b!.shape.join(", ")}]: expected [in, rank] and [rank, out]`, names.a);
    if (rank !== undefined && rankA !== rank) fail(`rank ${rankA} differs from the adapter's rank ${rank} (mixed ranks are not supported)`, names.a);
    rank = rankA;
    targets.push({ layer, projection, inDim, outDim, a: a!, b: b! });
  }
  targets.sort((x, y) => x.layer - y.layer || PROJECTIONS.indexOf(x.projection) - PROJECTIONS.indexOf(y.projection));
  return { path: file.path, architecture, name, rank: rank!, alpha, targets };
}

function isGgufLayout(base: AdapterBase): base is GgufLayout {
  return "tensors" in base && "metadata" in base;
}

function checkFitsBase(summary: AdapterSummary, base: AdapterBase): void {
  const fail = (message: string, tensor?: string): never => {
    throw new AdapterMismatchError(summary.path, message, tensor);
  };
  const baseArchitecture = isGgufLayout(base) ? base.metadata.get("general.architecture") : "llama";
  if (summary.architecture !== baseArchitecture) {
    fail(`adapter architecture "${summary.architecture}" does not match the base model's "${String(baseArchitecture)}"`);
  }
  for (const { layer, projection, inDim, outDim, a } of summary.targets) {
    const names = loraTensorNames(layer, projection);
    let expected: readonly number[];
    if (isGgufLayout(base)) {
      const weight = base.tensors.get(names.base);
      if (!weight) return fail(`${names.base} does not exist in the base model ${base.path}`, a.name);
      expected = weight.shape;
    } else {
      if (layer >= base.layers) return fail(`layer ${layer} does not exist in the base model (${base.layers} layers)`, a.name);
      expected = projectionShape(base, projection);
    }
    if (expected.length !== 2 || expected[0] !== inDim || expected[1] !== outDim) {
      fail(`adapts ${names.base} as [in ${inDim}, out ${outDim}] but the base weight has ggml shape [${expected.join(", ")}]`, a.name);
    }
  }
}

function decodeAdapter(file: GgufFile, summary: AdapterSummary): LoraAdapter {
  const values = (info: GgufTensorInfo): Float32Array => {
    let data: Float32Array;
    try {
      data = tensorValues(file, info.name);
    } catch (error) {
      if (error instanceof UnsupportedTensorTypeError) throw new AdapterFormatError(file.path, `tensor type ${error.typeName} is not supported`, info.name, { cause: error });
      throw error;
    }
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i]!)) throw new AdapterFormatError(file.path, `non-finite value at element ${i}`, info.name);
    }
    return data;
  };
  const weights: LoraWeight[] = summary.targets.map(({ layer, projection, inDim, outDim, a, b }) => ({
    layer, projection, inDim, outDim, a: values(a), b: values(b),
  }));
  return { architecture: summary.architecture, name: summary.name, rank: summary.rank, alpha: summary.alpha, weights };
}
