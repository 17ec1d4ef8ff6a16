import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { IncrementalDetokenizer } from "../src/engine/text/detokenizer.ts";
import { StopMatcher } from "../src/engine/text/stop-matcher.ts";
import { TextOffsets } from "../src/engine/text/token-bytes.ts";

/** A byte-level vocabulary: token n is byte n, as in the served models' base alphabet. */
const bytes = (tokens: readonly number[]) => new TextDecoder().decode(Uint8Array.from(tokens));

describe("IncrementalDetokenizer", () => {
  it("never splits a multi-byte character across pushes", () => {
    const detokenizer = new IncrementalDetokenizer(bytes);
    const pieces = [...Buffer.from("a🦙é")].map((byte) => detokenizer.push(byte));
    assert.deepEqual(pieces, ["a", "", "", "", "🦙", "", "é"]);
    assert.equal(detokenizer.flush(), "");
  });

  it("gives up holding after four tokens and flushes what is left", () => {
    const detokenizer = new IncrementalDetokenizer(bytes);
    assert.equal(detokenizer.push(0xf0), "");
    assert.equal(detokenizer.flush(), "\uFFFD");
  });
});

describe("StopMatcher", () => {
  const run = (stops: string[], pieces: string[]) => {
    const matcher = new StopMatcher(stops);
    const out = pieces.map((piece) => matcher.push(piece));
    return { out, rest: matcher.flush(), stopped: matcher.hasStopped };
  };

  it("cuts before the stop string, even split across pieces", () => {
    assert.deepEqual(run(["END"], ["hello E", "N", "D more"]), { out: ["hello ", "", ""], rest: "", stopped: true });
  });

  it("releases held text once it cannot be a stop string", () => {
    assert.deepEqual(run(["END"], ["hello E", "x"]), { out: ["hello ", "Ex"], rest: "", stopped: false });
  });

  it("picks the earliest of several stop strings", () => {
    assert.deepEqual(run(["b", "cd"], ["a cd b"]), { out: ["a "], rest: "", stopped: true });
  });

  it("releases a held partial match at the end", () => {
    assert.deepEqual(run(["END"], ["the EN"]), { out: ["the "], rest: "EN", stopped: false });
  });
});

describe("TextOffsets", () => {
  it("places a token continuing a character where that character starts", () => {
    const offsets = new TextOffsets();
    // "a" | first two bytes of "é" split: 0xc3 | 0xa9 | "🦙" in two tokens | "b"
    const tokens = [[0x61], [0xc3], [0xa9], [0xf0, 0x9f], [0xa6, 0x99], [0x62]].map((b) => Uint8Array.from(b));
    assert.deepEqual(tokens.map((bytes) => offsets.push(bytes)), [0, 1, 1, 2, 2, 4]);
    assert.equal("aé🦙b".indexOf("b"), 4);
  });

  it("starts from the offset it is given and counts a broken sequence as one character", () => {
    const offsets = new TextOffsets(10);
    assert.equal(offsets.push(Uint8Array.of(0x80)), 10);
    assert.equal(offsets.push(Uint8Array.of(0x61)), 11);
  });
});
