import { describe, expect, it } from "vitest";
import { BatchSizer } from "../../../../sync-runtime/src/domain/batch-size";

/** Reports `n` requests answered without a sign, cut at the size of the moment; the last size. */
function answer(s: BatchSizer, n: number): number {
  for (let i = 0; i < n; i++) s.answered(s.size);
  return s.size;
}

describe("BatchSizer", () => {
  it("starts at the configured size and stays there while requests are answered", () => {
    const s = new BatchSizer({ max: 1000, min: 10 });
    expect(s.size).toBe(1000);
    expect(answer(s, 100)).toBe(1000);
  });

  it("halves when a request runs too long, down to the floor and never under it", () => {
    const s = new BatchSizer({ max: 1000, min: 10 });
    const sizes: number[] = [];
    for (let i = 0; i < 9; i++) sizes.push(s.tooLong(s.size));
    expect(sizes).toEqual([500, 250, 125, 62, 31, 15, 10, 10, 10]);
  });

  it("halves once for all the requests cut at the same size (those in flight meet the same limit)", () => {
    const s = new BatchSizer({ max: 1000, min: 10 });
    // Four requests of 1,000 in flight all answer 429 for the execution time.
    for (let i = 0; i < 4; i++) expect(s.tooLong(1000)).toBe(500);
    // A request cut at 500 meeting it again halves again.
    expect(s.tooLong(500)).toBe(250);
  });

  it("grows back by a quarter after a run of answers at the current size, never past the configured size", () => {
    const s = new BatchSizer({ max: 1000, min: 10, growAfter: 8 });
    s.tooLong(1000);
    expect(s.size).toBe(500);
    // Seven answers are not yet a run; the eighth grows it.
    expect(answer(s, 7)).toBe(500);
    expect(answer(s, 1)).toBe(625);
    const sizes = [625];
    while (s.size < 1000 && sizes.length < 100) sizes.push(answer(s, 8));
    expect(sizes).toEqual([625, 782, 978, 1000]);
    expect(answer(s, 100)).toBe(1000);
  });

  it("counts toward growing only answers to requests cut at the current size", () => {
    const s = new BatchSizer({ max: 1000, min: 10, growAfter: 2 });
    s.tooLong(1000);
    // Requests cut at 1,000 before the decrease come back answered: they prove nothing of 500.
    for (let i = 0; i < 10; i++) s.answered(1000);
    expect(s.size).toBe(500);
    // A sign breaks the run: one answer before and one after it do not make two in a row.
    s.answered(500);
    s.tooLong(1000);
    s.answered(500);
    expect(s.size).toBe(500);
    s.answered(500);
    expect(s.size).toBe(625);
  });

  it("keeps the floor within the configured size and refuses a size under one", () => {
    expect(new BatchSizer({ max: 4, min: 10 }).tooLong(4)).toBe(4);
    expect(new BatchSizer({ max: 100, min: 0 }).min).toBe(1);
    expect(() => new BatchSizer({ max: 0, min: 1 })).toThrow(RangeError);
  });
});
