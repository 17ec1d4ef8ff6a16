import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { IncrementalDetokenizer } from "../src/engine/text/detokenizer.ts";
import { StopMatcher } from "../src/engine/text/stop-matcher.ts";

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
