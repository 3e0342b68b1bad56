import { describe, expect, it } from "vitest";
import {
  decodeIdSet,
  encodeIdSet,
  IdSetFormatError,
  unionIds,
} from "../../../../sync-runtime/src/domain/id-set";

/** A small seeded generator, so a failing case can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` distinct ids below `range`, sorted. */
function ids(seed: number, count: number, range: number): Uint32Array {
  const next = random(seed);
  const set = new Set<number>();
  while (set.size < count) set.add(Math.floor(next() * range));
  return Uint32Array.from([...set].sort((a, b) => a - b));
}

const roundTrip = (set: Uint32Array) => decodeIdSet(encodeIdSet(set));

describe("id sets", () => {
  it("round-trip the edge cases: empty, 0, the largest id, a run, a gap that needs 5 bytes", () => {
    for (const set of [
      [],
      [0],
      [7],
      [8],
      [0xffffffff],
      [0, 0xffffffff],
      [0, 1, 2, 3, 4, 5, 6, 7, 8],
      [127, 128, 16_383, 16_384],
    ]) {
      expect([...roundTrip(Uint32Array.from(set))]).toEqual(set);
    }
  });

  it("round-trip random sets, sparse and dense, each in at most about a byte per id", () => {
    for (let seed = 1; seed <= 40; seed++) {
      const count = Math.floor(random(seed)() * 3000);
      // Dense (bitmap wins) and sparse (gaps win), both far from 0.
      for (const range of [count + 50, count * 200 + 1]) {
        const set = ids(seed, count, range).map((id) => id + 1_000_000);
        const bytes = encodeIdSet(set);
        expect([...decodeIdSet(bytes)]).toEqual([...set]);
        expect(bytes.length).toBeLessThanOrEqual(Math.min(range / 8, count * 3) + 12);
      }
    }
  });

  it("take a bitmap's size for most of a range, and about one byte per id for 300 of 20,000", () => {
    const dense = Uint32Array.from({ length: 10_000 }, (_, i) => i * 2);
    expect(encodeIdSet(dense).length).toBeLessThan(2_520);
    expect(encodeIdSet(ids(3, 300, 20_000)).length).toBeLessThan(420);
  });

  it("refuse an unsorted or repeated input rather than store another set", () => {
    expect(() => encodeIdSet(Uint32Array.from([2, 1]))).toThrow(RangeError);
    expect(() => encodeIdSet(Uint32Array.from([1, 1]))).toThrow(RangeError);
  });

  it("refuse bytes that are not a set: unknown encoding, truncated, trailing, wrong count, repeats", () => {
    const good = encodeIdSet(Uint32Array.from([3, 900]));
    const dense = encodeIdSet(Uint32Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]));
    for (const bad of [
      new Uint8Array([]),
      new Uint8Array([9, 0]),
      good.subarray(0, good.length - 1),
      Uint8Array.from([...good, 0]),
      // Gaps: a count of 3 with two ids; a zero gap (the same id twice).
      Uint8Array.from([good[0]!, 3, ...good.subarray(2)]),
      new Uint8Array([1, 2, 5, 0]),
      // Bitmap: a count that is not its number of bits, both ways.
      Uint8Array.from([dense[0]!, 11, ...dense.subarray(2)]),
      Uint8Array.from([dense[0]!, 13, ...dense.subarray(2)]),
      // A varint that never ends, and one beyond 32 bits.
      new Uint8Array([1, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
      new Uint8Array([1, 1, 0x80, 0x80, 0x80, 0x80, 0x10]),
    ]) {
      expect(() => decodeIdSet(bad), String([...bad])).toThrow(IdSetFormatError);
    }
  });

  it("unite two sets as a Set would, sorted and distinct", () => {
    for (let seed = 1; seed <= 30; seed++) {
      const a = ids(seed, seed * 7, 500);
      const b = ids(seed + 100, seed * 5, 500);
      const expected = [...new Set([...a, ...b])].sort((x, y) => x - y);
      expect([...unionIds(a, b)]).toEqual(expected);
      expect([...unionIds(b, a)]).toEqual(expected);
      expect([...unionIds(a, a)]).toEqual([...a]);
    }
    expect([...unionIds(new Uint32Array(0), Uint32Array.from([4]))]).toEqual([4]);
  });
});
