import { describe, expect, it } from "vitest";
import { SubmissionBudget } from "../../../../sync-runtime/src/domain/submission-budget";

const HOUR = 3_600_000;

describe("SubmissionBudget", () => {
  it("takes submissions up to its limit in any 24 hours, then says when the next is free", () => {
    const b = new SubmissionBudget(3);
    expect([b.take(0), b.take(HOUR), b.take(2 * HOUR)]).toEqual([0, 0, 0]);
    expect(b.take(3 * HOUR)).toBe(21 * HOUR);
    expect(b.used(3 * HOUR)).toBe(3);
    // The first leaves the rolling 24 hours: one is free again, not more.
    expect(b.take(24 * HOUR)).toBe(0);
    expect(b.take(24 * HOUR)).toBe(HOUR);
  });

  it("counts what an earlier process spent, and gives back what Graph refused", () => {
    const b = new SubmissionBudget(2, [5 * HOUR, -30 * HOUR, 6 * HOUR]);
    expect(b.used(7 * HOUR)).toBe(2);
    expect(b.take(7 * HOUR)).toBe(22 * HOUR);
    const c = new SubmissionBudget(1);
    expect(c.take(HOUR)).toBe(0);
    c.give(HOUR);
    expect(c.take(HOUR)).toBe(0);
  });

  it("refuses a limit below one", () => {
    expect(() => new SubmissionBudget(0)).toThrow(RangeError);
  });
});
