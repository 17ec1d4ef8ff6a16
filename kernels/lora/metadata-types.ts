/**
 * The GGUF value type of each metadata key. `GgufFile.metadata` keeps the values only,
 * but llama.cpp's adapter loader reads its keys with getters that assert the type
 * (gguf_get_val_str, gguf_get_val_f32): a key of the wrong type aborts the process
 * instead of failing the load, so the adapter reader must see the types.
 */
import { GgufValueType } from "../gguf/types.ts";

const SCALAR_BYTES: Partial<Record<GgufValueType, number>> = {
  [GgufValueType.UINT8]: 1, [GgufValueType.INT8]: 1, [GgufValueType.BOOL]: 1,
  [GgufValueType.UINT16]: 2, [GgufValueType.INT16]: 2,
  [GgufValueType.UINT32]: 4, [GgufValueType.INT32]: 4, [GgufValueType.FLOAT32]: 4,
  [GgufValueType.UINT64]: 8, [GgufValueType.INT64]: 8, [GgufValueType.FLOAT64]: 8,
};

/** Walks the key/value section; every length is bounds-checked. `fail` must throw. */
export function metadataTypes(bytes: Uint8Array, fail: (message: string) => never): Map<string, GgufValueType> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let position = 0;
  const need = (size: number, what: string): void => {
    if (position + size > bytes.byteLength) fail(`truncated metadata: ${what} at offset ${position}`);
  };
  const u32 = (what: string): number => {
    need(4, what);
    position += 4;
    return view.getUint32(position - 4, true);
  };
  const u64 = (what: string): number => {
    need(8, what);
    position += 8;
    const value = view.getBigUint64(position - 8, true);
    if (value > BigInt(bytes.byteLength)) fail(`${what} ${value} is larger than the file`);
    return Number(value);
  };
  const skipString = (what: string): string => {
    const length = u64(`${what} length`);
    need(length, what);
    position += length;
    return new TextDecoder().decode(bytes.subarray(position - length, position));
  };
  const skipValue = (type: number, what: string): void => {
    if (type === GgufValueType.STRING) {
      skipString(what);
      return;
    }
    const size = SCALAR_BYTES[type as GgufValueType];
    if (size === undefined) fail(`${what}: unknown metadata value type ${type}`);
    need(size, what);
    position += size;
  };

  position = 16; // magic, version, tensor count
  const count = u64("metadata count");
  const types = new Map<string, GgufValueType>();
  for (let i = 0; i < count; i++) {
    const key = skipString("metadata key");
    if (types.has(key)) fail(`duplicate metadata key ${key}`);
    const type = u32(`type of ${key}`);
    if (type === GgufValueType.ARRAY) {
      const itemType = u32(`${key} item type`);
      const items = u64(`${key} count`);
      const size = SCALAR_BYTES[itemType as GgufValueType];
      if (size !== undefined) {
        need(items * size, key);
        position += items * size;
      } else {
        for (let j = 0; j < items; j++) skipValue(itemType, key);
      }
    } else {
      skipValue(type, key);
    }
    types.set(key, type as GgufValueType);
  }
  return types;
}
