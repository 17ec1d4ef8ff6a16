/**
 * Bounds-checked GGUF reader. Every length and offset read from the file is checked
 * against the bytes that are actually there before it is used, so a truncated or
 * corrupt file is refused with an error naming the file (and the tensor), never a read
 * past the buffer or a giant allocation. `readGgufLayout` reads the header alone (metadata,
 * tensor names, shapes and types), however large the tensor data behind it.
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync } from "node:fs";
import { GgufFormatError, UnsupportedTensorTypeError } from "./errors.ts";
import { decodeTensor } from "./quant.ts";
import { GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GGML_TYPES, GgufValueType, isSupportedTensorType, tensorByteSize, type GgufLayout, type MetadataValue } from "./types.ts";

export interface GgufTensorInfo {
  name: string;
  shape: number[];
  /** A ggml type number (GGML_TYPES); only `TensorType`s can be decoded. */
  type: number;
  /** Absolute offset of the tensor's bytes in the file. */
  offset: number;
  byteSize: number;
}

/** A GGUF file's header: what it declares, without its tensor data. */
export interface GgufHeader extends GgufLayout {
  version: number;
  tensors: Map<string, GgufTensorInfo>;
}

export interface GgufFile extends GgufHeader {
  bytes: Uint8Array;
}

/** The header continues past the bytes read so far (only while reading a header in pieces). */
class NeedMoreBytes extends Error {}

const MAX_DIMENSIONS = 4;
const MAX_ELEMENTS = 2 ** 40;

class Cursor {
  private view: DataView;
  position = 0;

  /** `bytes` is the start of a file of `fileSize` bytes (all of it unless a header is read in pieces). */
  constructor(private bytes: Uint8Array, readonly fileSize: number, private fail: (message: string) => never) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private need(size: number, what: string): void {
    if (size < 0 || this.position + size > this.fileSize) {
      this.fail(`truncated: ${what} needs ${size} bytes at offset ${this.position}, file has ${this.fileSize}`);
    }
    if (this.position + size > this.bytes.byteLength) throw new NeedMoreBytes();
  }
  u8(): number { this.need(1, "u8"); return this.view.getUint8(this.position++); }
  u32(what = "u32"): number { this.need(4, what); const v = this.view.getUint32(this.position, true); this.position += 4; return v; }
  u64(what = "u64"): number {
    this.need(8, what);
    const v = this.view.getBigUint64(this.position, true);
    this.position += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`${what} ${v} is out of range`);
    return Number(v);
  }
  string(what: string): string {
    const length = this.u64(`${what} length`);
    this.need(length, what);
    const s = new TextDecoder("utf-8", { fatal: false }).decode(this.bytes.subarray(this.position, this.position + length));
    this.position += length;
    return s;
  }
  scalar(type: GgufValueType, what: string): MetadataValue {
    const sizes: Partial<Record<GgufValueType, number>> = {
      [GgufValueType.UINT8]: 1, [GgufValueType.INT8]: 1, [GgufValueType.UINT16]: 2, [GgufValueType.INT16]: 2,
      [GgufValueType.UINT32]: 4, [GgufValueType.INT32]: 4, [GgufValueType.FLOAT32]: 4, [GgufValueType.BOOL]: 1,
      [GgufValueType.UINT64]: 8, [GgufValueType.INT64]: 8, [GgufValueType.FLOAT64]: 8,
    };
    if (type === GgufValueType.STRING) return this.string(what);
    const size = sizes[type];
    if (size === undefined) this.fail(`${what}: unknown metadata value type ${type}`);
    this.need(size, what);
    const p = this.position;
    this.position += size;
    switch (type) {
      case GgufValueType.UINT8: return this.view.getUint8(p);
      case GgufValueType.INT8: return this.view.getInt8(p);
      case GgufValueType.UINT16: return this.view.getUint16(p, true);
      case GgufValueType.INT16: return this.view.getInt16(p, true);
      case GgufValueType.UINT32: return this.view.getUint32(p, true);
      case GgufValueType.INT32: return this.view.getInt32(p, true);
      case GgufValueType.FLOAT32: return this.view.getFloat32(p, true);
      case GgufValueType.BOOL: return this.view.getUint8(p) !== 0;
      case GgufValueType.UINT64: return this.view.getBigUint64(p, true);
      case GgufValueType.INT64: return this.view.getBigInt64(p, true);
      default: return this.view.getFloat64(p, true);
    }
  }
  value(type: GgufValueType, what: string): MetadataValue {
    if (type !== GgufValueType.ARRAY) return this.scalar(type, what);
    const itemType = this.u32(`${what} item type`);
    if (itemType === GgufValueType.ARRAY) this.fail(`${what}: nested arrays are not supported`);
    const count = this.u64(`${what} count`);
    // Every item takes at least one byte: a count beyond the remaining bytes is corrupt.
    if (count > this.fileSize - this.position) this.fail(`${what}: array of ${count} items cannot fit in the file`);
    const items: MetadataValue[] = new Array(count);
    for (let i = 0; i < count; i++) items[i] = this.scalar(itemType, what);
    return items;
  }
}

export function parseGguf(bytes: Uint8Array, path = "<buffer>"): GgufFile {
  return { ...parseHeader(bytes, bytes.byteLength, path), bytes };
}

export function readGgufFile(path: string): GgufFile {
  return parseGguf(readFileSync(path), path);
}

/** Reads the header alone: a few reads of growing size, never the tensor data. */
export function readGgufLayout(path: string): GgufHeader {
  const fd = openSync(path, "r");
  try {
    const fileSize = fstatSync(fd).size;
    for (let length = Math.min(fileSize, 1 << 20); ; length = Math.min(fileSize, length * 4)) {
      const bytes = new Uint8Array(length);
      const read = readSync(fd, bytes, 0, length, 0);
      if (read !== length) throw new GgufFormatError(path, "the file changed while it was read");
      try {
        return parseHeader(bytes, fileSize, path);
      } catch (error) {
        if (!(error instanceof NeedMoreBytes)) throw error;
      }
    }
  } finally {
    closeSync(fd);
  }
}

/** Parses the header from `bytes`, the first bytes of a file of `fileSize` bytes. */
function parseHeader(bytes: Uint8Array, fileSize: number, path: string): GgufHeader {
  const fail = (message: string, tensor?: string): never => {
    throw new GgufFormatError(path, message, tensor);
  };
  const cursor = new Cursor(bytes, fileSize, fail);
  if (cursor.u32("magic") !== GGUF_MAGIC) fail("not a GGUF file (bad magic)");
  const version = cursor.u32("version");
  if (version !== 2 && version !== 3) fail(`unsupported GGUF version ${version}`);
  const tensorCount = cursor.u64("tensor count");
  const metadataCount = cursor.u64("metadata count");
  if (tensorCount > fileSize || metadataCount > fileSize) fail("tensor or metadata count larger than the file");
  const metadata = new Map<string, MetadataValue>();
  for (let i = 0; i < metadataCount; i++) {
    const key = cursor.string("metadata key");
    const type = cursor.u32(`type of ${key}`);
    metadata.set(key, cursor.value(type, key));
  }
  const alignment = Number(metadata.get("general.alignment") ?? GGUF_DEFAULT_ALIGNMENT);
  if (!Number.isInteger(alignment) || alignment <= 0 || alignment % 8 !== 0) fail(`bad general.alignment ${alignment}`);
  const infos: { name: string; shape: number[]; type: number; relativeOffset: number; byteSize: number }[] = [];
  for (let i = 0; i < tensorCount; i++) {
    const name = cursor.string("tensor name");
    const dimensions = cursor.u32(`${name} dimension count`);
    if (dimensions < 1 || dimensions > MAX_DIMENSIONS) fail(`${dimensions} dimensions`, name);
    const shape: number[] = [];
    for (let d = 0; d < dimensions; d++) shape.push(cursor.u64(`${name} dimension`));
    const elements = shape.reduce((a, b) => a * b, 1);
    if (shape.some((d) => d < 1) || elements > MAX_ELEMENTS) fail(`absurd shape [${shape.join(", ")}]`, name);
    const type = cursor.u32(`${name} type`);
    if (!GGML_TYPES.has(type)) fail(`unknown tensor type ${type}`, name);
    const relativeOffset = cursor.u64(`${name} offset`);
    if (relativeOffset % alignment !== 0) fail(`offset ${relativeOffset} is not aligned to ${alignment}`, name);
    let byteSize = 0;
    try {
      byteSize = tensorByteSize(type, elements);
    } catch (error) {
      fail((error as Error).message, name);
    }
    infos.push({ name, shape, type, relativeOffset, byteSize });
  }
  const dataStart = Math.ceil(cursor.position / alignment) * alignment;
  const tensors = new Map<string, GgufTensorInfo>();
  for (const info of infos) {
    const offset = dataStart + info.relativeOffset;
    if (offset + info.byteSize > fileSize) {
      fail(`data [${offset}, ${offset + info.byteSize}) lies past the end of the file (${fileSize} bytes)`, info.name);
    }
    if (tensors.has(info.name)) fail("duplicate tensor name", info.name);
    tensors.set(info.name, { name: info.name, shape: info.shape, type: info.type, offset, byteSize: info.byteSize });
  }
  return { path, version, metadata, tensors };
}

/** A tensor's values; a type we cannot decode is an UnsupportedTensorTypeError naming the file, tensor and type. */
export function tensorValues(file: GgufFile, name: string): Float32Array {
  const info = file.tensors.get(name);
  if (!info) throw new GgufFormatError(file.path, "missing tensor", name);
  if (!isSupportedTensorType(info.type)) throw new UnsupportedTensorTypeError(file.path, info.type, name);
  const elements = info.shape.reduce((a, b) => a * b, 1);
  return decodeTensor(info.type, file.bytes.subarray(info.offset, info.offset + info.byteSize), elements);
}

export function metadataNumber(file: GgufLayout, key: string): number {
  const value = file.metadata.get(key);
  if (typeof value !== "number" && typeof value !== "bigint") throw new GgufFormatError(file.path, `metadata ${key} is missing or not a number`);
  return Number(value);
}

export function metadataString(file: GgufLayout, key: string): string {
  const value = file.metadata.get(key);
  if (typeof value !== "string") throw new GgufFormatError(file.path, `metadata ${key} is missing or not a string`);
  return value;
}
