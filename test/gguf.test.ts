import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { floatToHalf, halfToFloat, roundToHalf } from "../kernels/gguf/half.ts";
import { decodeTensor, encodeTensor } from "../kernels/gguf/quant.ts";
import { GgufFormatError, UnsupportedTensorTypeError } from "../kernels/gguf/errors.ts";
import { parseGguf, readGgufFile, readGgufLayout, tensorValues } from "../kernels/gguf/reader.ts";
import { gguf, GgufValueType, tensorByteSize, TensorType, type GgufTensor } from "../kernels/gguf/types.ts";
import { toApiError } from "../src/http/error-response.ts";
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
  // Bounds follow from each format's step size: max |x| / levels per block, plus f16 scale rounding
  // (symmetric types clip the side opposite the block's largest value by one step; IQ4_XS's widest gap is 24/127).
  const bounds = [
    [TensorType.Q8_0, 0.02], [TensorType.Q6_K, 0.05], [TensorType.Q4_K, 0.2], [TensorType.Q5_K, 0.1],
    [TensorType.Q4_0, 0.25], [TensorType.Q4_1, 0.15], [TensorType.Q5_0, 0.12], [TensorType.Q5_1, 0.08], [TensorType.IQ4_XS, 0.25],
  ] as const;
  for (const [type, bound] of bounds) {
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
    assert.throws(() => encodeTensor(TensorType.Q5_0, new Float32Array(48)), /multiple of 32/);
  });
  it("knows every ggml type's block layout, and refuses to decode the ones it does not support by name", () => {
    assert.equal(tensorByteSize(16, 512), 2 * 66, "IQ2_XXS: 66 bytes per 256");
    assert.equal(tensorByteSize(TensorType.IQ4_XS, 256), 136);
    assert.throws(() => decodeTensor(16, new Uint8Array(66), 256), (error: unknown) => error instanceof UnsupportedTensorTypeError && /IQ2_XXS/.test(error.message));
    assert.throws(() => tensorByteSize(77, 1), /unknown tensor type 77/);
  });
});

describe("tensor types we cannot decode", () => {
  const bytes = encodeGguf({ "general.architecture": gguf.string("llama") }, [
    { name: "ok", shape: [32], type: TensorType.Q4_0, data: encodeTensor(TensorType.Q4_0, gaussian(32)) },
    { name: "iq2", shape: [256, 2], type: 16, data: new Uint8Array(2 * 66) },
  ]);
  it("are read as layout, and refused with a typed error naming file, tensor and type when decoded", () => {
    const file = parseGguf(bytes, "iq2.gguf");
    assert.deepEqual(file.tensors.get("iq2")!.shape, [256, 2]);
    assert.equal(tensorValues(file, "ok").length, 32);
    assert.throws(() => tensorValues(file, "iq2"), (error: unknown) => {
      assert.ok(error instanceof UnsupportedTensorTypeError);
      assert.equal(error.typeName, "IQ2_XXS");
      assert.equal(error.tensor, "iq2");
      assert.match(error.message, /^iq2\.gguf \(tensor iq2\): tensor type IQ2_XXS is not supported \(supported: F32, F16, Q4_0/);
      return true;
    });
  });
  it("become a 400 naming the type where they reach the API", () => {
    const error = toApiError(new UnsupportedTensorTypeError("/models/secret/path.gguf", 16, "token_embd.weight"));
    assert.equal(error.status, 400);
    assert.equal(error.code, "unsupported_tensor_type");
    assert.equal(error.message, "GGUF tensor token_embd.weight has type IQ2_XXS, which this server cannot decode.");
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
  it("reads the header alone, in growing pieces, however large the data behind it", () => {
    const dir = mkdtempSync(join(tmpdir(), "gguf-"));
    const path = join(dir, "header.gguf");
    // A header past the first 1 MiB piece (a long string array), then 4 MiB of data.
    const words = Array.from({ length: 60_000 }, (_, i) => `token-${i}-with-some-length`);
    const big = new Float32Array(1 << 20).fill(0.5);
    writeGgufFile(path, { "general.architecture": gguf.string("llama"), "tokenizer.ggml.tokens": gguf.strings(words) }, [
      { name: "big", shape: [1 << 10, 1 << 10], type: TensorType.F32, data: encodeTensor(TensorType.F32, big) },
    ]);
    const full = readGgufFile(path);
    const layout = readGgufLayout(path);
    assert.ok(!("bytes" in layout));
    assert.deepEqual(layout.metadata, full.metadata);
    assert.deepEqual(layout.tensors, full.tensors);
    assert.equal((layout.metadata.get("tokenizer.ggml.tokens") as string[])[59_999], "token-59999-with-some-length");
    // Cut inside the header and inside the data: both still refused as the whole-file reader refuses them.
    writeFileSync(path, full.bytes.subarray(0, 1_500_000));
    assert.throws(() => readGgufLayout(path), (error: unknown) => error instanceof GgufFormatError && /truncated/.test(error.message));
    writeFileSync(path, full.bytes.subarray(0, full.bytes.byteLength - 100));
    assert.throws(() => readGgufLayout(path), (error: unknown) => error instanceof GgufFormatError && /past the end/.test(error.message));
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
    refuses(patch(info + 8 + 1 + 4 + 8, (v) => v.setUint32(0, 77, true)), /unknown tensor type 77/, "a");
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
