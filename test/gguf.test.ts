import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { floatToHalf, halfToFloat, roundToHalf } from "../kernels/gguf/half.ts";
import { decodeTensor, encodeTensor } from "../kernels/gguf/quant.ts";
import { GgufFormatError, parseGguf, readGgufFile, tensorValues } from "../kernels/gguf/reader.ts";
import { gguf, GgufValueType, TensorType, type GgufTensor } from "../kernels/gguf/types.ts";
import { encodeGguf, writeGgufFile } from "../kernels/gguf/writer.ts";
import { createRandom } from "../kernels/random.ts";

const random = createRandom(7);
const gaussian = (n: number, scale = 1): Float32Array => Float32Array.from({ length: n }, () => random.normal() * scale);

function tensor(name: string, shape: number[], type: TensorType, values: Float32Array): GgufTensor {
  return { name, shape, type, data: encodeTensor(type, values) };
}

function sampleFile(): { bytes: Uint8Array; values: { a: Float32Array; b: Float32Array; c: Float32Array } } {
  const values = { a: gaussian(512), b: gaussian(64 * 8), c: gaussian(256 * 2, 0.1) };
  const bytes = encodeGguf(
    {
      "general.architecture": gguf.string("llama"),
      "general.name": gguf.string("sample"),
      "test.count": gguf.u32(3),
      "test.list": gguf.strings(["x", "yz", ""]),
    },
    [tensor("a", [512], TensorType.F32, values.a), tensor("b", [64, 8], TensorType.F16, values.b), tensor("c", [256, 2], TensorType.Q8_0, values.c)],
  );
  return { bytes, values };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

describe("half precision", () => {
  it("round-trips every finite half exactly", () => {
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 0x7c00) === 0x7c00) continue;
      assert.equal(floatToHalf(halfToFloat(h)), h === 0x8000 ? 0x8000 : h);
    }
  });
  it("rounds to nearest even", () => {
    assert.equal(roundToHalf(1 + 2 ** -11), 1); // halfway between 1 and the next half: ties to even
    assert.equal(roundToHalf(1 + 3 * 2 ** -11), 1 + 2 ** -9);
    assert.equal(roundToHalf(65520), Infinity);
  });
});

describe("tensor encodings", () => {
  const values = gaussian(1024, 0.5);
  it("F32 is exact, F16 and BF16 round once", () => {
    assert.deepEqual(decodeTensor(TensorType.F32, encodeTensor(TensorType.F32, values), 1024), values);
    assert.deepEqual(decodeTensor(TensorType.F16, encodeTensor(TensorType.F16, values), 1024), Float32Array.from(values, roundToHalf));
    assert.ok(maxAbsDiff(decodeTensor(TensorType.BF16, encodeTensor(TensorType.BF16, values), 1024), values) < 0.5 * 2 ** -7 * 4);
  });
  // Bounds follow from each format's step size: max |x| / levels per block, plus f16 scale rounding.
  for (const [type, bound] of [[TensorType.Q8_0, 0.02], [TensorType.Q6_K, 0.05], [TensorType.Q4_K, 0.2]] as const) {
    it(`${TensorType[type]} decodes what it encodes within its step size`, () => {
      const decoded = decodeTensor(type, encodeTensor(type, values), values.length);
      const error = maxAbsDiff(decoded, values);
      assert.ok(error < bound, `${TensorType[type]} max error ${error}`);
      assert.ok(error > 0, "a lossy format that is exact would mean the test is not exercising it");
      assert.deepEqual(encodeTensor(type, decoded), encodeTensor(type, decoded), "encoding is deterministic");
    });
  }
  it("refuses element counts that do not fill whole blocks", () => {
    assert.throws(() => encodeTensor(TensorType.Q4_K, new Float32Array(100)), /multiple of 256/);
  });
});

describe("GGUF round trip", () => {
  it("reads back the metadata and tensors it wrote", () => {
    const dir = mkdtempSync(join(tmpdir(), "gguf-"));
    const path = join(dir, "sample.gguf");
    const { bytes, values } = sampleFile();
    writeFileSync(path, bytes);
    const file = readGgufFile(path);
    assert.equal(file.metadata.get("general.name"), "sample");
    assert.equal(file.metadata.get("test.count"), 3);
    assert.deepEqual(file.metadata.get("test.list"), ["x", "yz", ""]);
    assert.deepEqual([...file.tensors.keys()], ["a", "b", "c"]);
    assert.deepEqual(file.tensors.get("b")!.shape, [64, 8]);
    assert.deepEqual(tensorValues(file, "a"), values.a);
    assert.deepEqual(tensorValues(file, "b"), Float32Array.from(values.b, roundToHalf));
    assert.ok(maxAbsDiff(tensorValues(file, "c"), values.c) < 0.01);
    for (const info of file.tensors.values()) assert.equal(info.offset % 32, 0, "data is 32-byte aligned");
  });
  it("writes atomically and identically", () => {
    const dir = mkdtempSync(join(tmpdir(), "gguf-"));
    const { values } = sampleFile();
    const tensors = [tensor("a", [512], TensorType.F32, values.a)];
    writeGgufFile(join(dir, "one.gguf"), { "general.architecture": gguf.string("llama") }, tensors);
    writeGgufFile(join(dir, "two.gguf"), { "general.architecture": gguf.string("llama") }, tensors);
    assert.deepEqual(readGgufFile(join(dir, "one.gguf")).bytes, readGgufFile(join(dir, "two.gguf")).bytes);
  });
});

describe("corrupt GGUF files are refused with an error naming the file", () => {
  const { bytes } = sampleFile();
  const path = "corrupt.gguf";
  const refuses = (data: Uint8Array, pattern: RegExp, tensor?: string): void => {
    assert.throws(
      () => parseGguf(data, path),
      (error: unknown) => {
        assert.ok(error instanceof GgufFormatError, `expected GgufFormatError, got ${error}`);
        assert.match(error.message, /^corrupt\.gguf/);
        assert.match(error.message, pattern);
        if (tensor) assert.equal(error.tensor, tensor);
        return true;
      },
    );
  };
  const patch = (offset: number, write: (view: DataView) => void): Uint8Array => {
    const copy = new Uint8Array(bytes);
    write(new DataView(copy.buffer, copy.byteOffset + offset));
    return copy;
  };
  // Layout of the sample: magic, version, counts (24 bytes), then the first key's length.
  const firstKeyLength = 24;
  const tensorInfoStart = (): number => {
    // Find tensor "a"'s info: its name is the u64 length 1 followed by "a" after the metadata.
    for (let i = bytes.length - 1; i > 24; i--) {
      if (bytes[i] === 0x61 && new DataView(bytes.buffer, bytes.byteOffset + i - 8, 8).getBigUint64(0, true) === 1n && bytes[i + 1] === 1) return i - 8;
    }
    throw new Error("tensor info not found");
  };

  it("truncated anywhere", () => {
    for (const cut of [0, 3, 10, 30, 60, 120, bytes.length - 1000, bytes.length - 1]) {
      refuses(bytes.subarray(0, cut), /truncated|past the end/);
    }
  });
  it("bad magic and version", () => {
    refuses(patch(0, (v) => v.setUint32(0, 0x12345678, true)), /bad magic/);
    refuses(patch(4, (v) => v.setUint32(0, 99, true)), /version 99/);
  });
  it("a string length beyond the file", () => {
    refuses(patch(firstKeyLength, (v) => v.setBigUint64(0, 1n << 40n, true)), /truncated/);
  });
  it("an array count beyond the file", () => {
    const listKey = new TextEncoder().encode("test.list");
    const at = Buffer.from(bytes).indexOf(Buffer.from(listKey)) + listKey.length + 4 + 4;
    refuses(patch(at, (v) => v.setBigUint64(0, 1n << 50n, true)), /cannot fit/);
  });
  it("an unknown tensor type", () => {
    const info = tensorInfoStart();
    refuses(patch(info + 8 + 1 + 4 + 8, (v) => v.setUint32(0, 77, true)), /unknown or unsupported tensor type 77/, "a");
  });
  it("an absurd shape", () => {
    const info = tensorInfoStart();
    refuses(patch(info + 8 + 1 + 4, (v) => v.setBigUint64(0, 1n << 45n, true)), /absurd shape/, "a");
    refuses(patch(info + 8 + 1, (v) => v.setUint32(0, 9, true)), /dimensions/, "a");
  });
  it("tensor data past the end", () => {
    const info = tensorInfoStart();
    refuses(patch(info + 8 + 1 + 4 + 8 + 4, (v) => v.setBigUint64(0, 1n << 20n, true)), /past the end/, "a");
    refuses(patch(info + 8 + 1 + 4 + 8 + 4, (v) => v.setBigUint64(0, 7n, true)), /not aligned/, "a");
  });
  it("a value type that does not exist", () => {
    const typeOffset = firstKeyLength + 8 + "general.architecture".length;
    assert.equal(new DataView(bytes.buffer, bytes.byteOffset + typeOffset).getUint32(0, true), GgufValueType.STRING);
    refuses(patch(typeOffset, (v) => v.setUint32(0, 42, true)), /unknown metadata value type 42/);
  });
});
