/** Serialises metadata and tensors into a GGUF v3 file (gguf.cpp's layout, 32-byte aligned data). */
import { writeFileSync, renameSync } from "node:fs";
import { GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GGUF_VERSION, GgufValueType, tensorByteSize, type GgufTensor, type GgufValue } from "./types.ts";

class ByteSink {
  private chunks: Uint8Array[] = [];
  length = 0;

  push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.length += bytes.byteLength;
  }

  scalar(size: number, write: (view: DataView) => void): void {
    const bytes = new Uint8Array(size);
    write(new DataView(bytes.buffer));
    this.push(bytes);
  }

  u32(v: number): void { this.scalar(4, (d) => d.setUint32(0, v, true)); }
  u64(v: number | bigint): void { this.scalar(8, (d) => d.setBigUint64(0, BigInt(v), true)); }
  string(s: string): void {
    const bytes = new TextEncoder().encode(s);
    this.u64(bytes.byteLength);
    this.push(bytes);
  }
  padTo(alignment: number): void {
    const pad = (alignment - (this.length % alignment)) % alignment;
    if (pad) this.push(new Uint8Array(pad));
  }
  concat(): Uint8Array {
    const out = new Uint8Array(this.length);
    let offset = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, offset);
      offset += chunk.byteLength;
    }
    return out;
  }
}

function writeScalar(sink: ByteSink, type: GgufValueType, value: number | bigint | boolean | string): void {
  switch (type) {
    case GgufValueType.UINT8: return sink.scalar(1, (d) => d.setUint8(0, value as number));
    case GgufValueType.INT8: return sink.scalar(1, (d) => d.setInt8(0, value as number));
    case GgufValueType.UINT16: return sink.scalar(2, (d) => d.setUint16(0, value as number, true));
    case GgufValueType.INT16: return sink.scalar(2, (d) => d.setInt16(0, value as number, true));
    case GgufValueType.UINT32: return sink.scalar(4, (d) => d.setUint32(0, value as number, true));
    case GgufValueType.INT32: return sink.scalar(4, (d) => d.setInt32(0, value as number, true));
    case GgufValueType.FLOAT32: return sink.scalar(4, (d) => d.setFloat32(0, value as number, true));
    case GgufValueType.FLOAT64: return sink.scalar(8, (d) => d.setFloat64(0, value as number, true));
    case GgufValueType.UINT64: return sink.scalar(8, (d) => d.setBigUint64(0, value as bigint, true));
    case GgufValueType.INT64: return sink.scalar(8, (d) => d.setBigInt64(0, value as bigint, true));
    case GgufValueType.BOOL: return sink.scalar(1, (d) => d.setUint8(0, value ? 1 : 0));
    case GgufValueType.STRING: return sink.string(value as string);
    default: throw new Error(`cannot write GGUF value type ${type} as a scalar`);
  }
}

export function encodeGguf(metadata: Record<string, GgufValue>, tensors: GgufTensor[]): Uint8Array {
  const alignment = GGUF_DEFAULT_ALIGNMENT;
  const header = new ByteSink();
  header.u32(GGUF_MAGIC);
  header.u32(GGUF_VERSION);
  header.u64(tensors.length);
  header.u64(Object.keys(metadata).length);
  for (const [key, entry] of Object.entries(metadata)) {
    header.string(key);
    header.u32(entry.type);
    if (entry.type === GgufValueType.ARRAY) {
      header.u32(entry.itemType);
      header.u64(entry.value.length);
      for (const item of entry.value) writeScalar(header, entry.itemType, item);
    } else {
      writeScalar(header, entry.type, entry.value);
    }
  }
  let offset = 0;
  const names = new Set<string>();
  for (const tensor of tensors) {
    if (names.has(tensor.name)) throw new Error(`duplicate tensor name ${tensor.name}`);
    names.add(tensor.name);
    const elements = tensor.shape.reduce((a, b) => a * b, 1);
    const size = tensorByteSize(tensor.type, elements);
    if (tensor.data.byteLength !== size) throw new Error(`tensor ${tensor.name}: ${tensor.data.byteLength} bytes, expected ${size}`);
    header.string(tensor.name);
    header.u32(tensor.shape.length);
    for (const dim of tensor.shape) header.u64(dim);
    header.u32(tensor.type);
    header.u64(offset);
    offset += size + ((alignment - (size % alignment)) % alignment);
  }
  header.padTo(alignment);
  for (const tensor of tensors) {
    header.push(tensor.data);
    header.padTo(alignment);
  }
  return header.concat();
}

/** Writes atomically: a reader never sees a half-written model. */
export function writeGgufFile(path: string, metadata: Record<string, GgufValue>, tensors: GgufTensor[]): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, encodeGguf(metadata, tensors));
  renameSync(temporary, path);
}
