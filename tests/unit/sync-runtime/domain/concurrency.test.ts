import { describe, expect, it } from "vitest";
import {
  ConcurrencyController,
  QueryConcurrency,
} from "../../../../sync-runtime/src/domain/concurrency";

/** Feeds `n` samples of `ms` (not throttled) and returns the last target. */
function feed(c: ConcurrencyController, n: number, ms: number): number {
  let target = c.target;
  for (let i = 0; i < n; i++) target = c.observe(ms);
  return target;
}

describe("ConcurrencyController", () => {
  it("starts at min(4, max) before any blob is timed", () => {
    expect(new ConcurrencyController({ max: 32, ratePerSecond: 30 }).target).toBe(4);
    expect(new ConcurrencyController({ max: 2, ratePerSecond: 30 }).target).toBe(2);
  });

  it("settles on rate x time per blob x headroom (Little's law)", () => {
    // 30 requests/s x 0.4 s x 1.25 = 15 in flight.
    const c = new ConcurrencyController({ max: 32, ratePerSecond: 30 });
    expect(feed(c, 50, 400)).toBe(15);
    expect(c.blobMs).toBe(400);
    // Twice the latency, twice the blobs in flight.
    expect(feed(c, 100, 800)).toBe(30);
  });

  it("needs few blobs in flight when blobs are fast, and never fewer than one", () => {
    const c = new ConcurrencyController({ max: 32, ratePerSecond: 30 });
    expect(feed(c, 50, 20)).toBe(1);
    expect(feed(c, 50, 0)).toBe(1);
  });

  it("never goes over max, however slow the blobs", () => {
    const c = new ConcurrencyController({ max: 8, ratePerSecond: 30 });
    expect(feed(c, 20, 10_000)).toBe(8);
  });

  it("at most doubles per sample, so one slow first blob does not open every slot", () => {
    const c = new ConcurrencyController({ max: 32, ratePerSecond: 30 });
    expect(c.observe(5_000)).toBe(8);
    expect(c.observe(5_000)).toBe(16);
    expect(c.observe(5_000)).toBe(32);
  });

  it("moves with a moving average, not with one outlier", () => {
    const c = new ConcurrencyController({ max: 32, ratePerSecond: 30 });
    feed(c, 50, 400);
    // One 1-second blob among 400 ms ones: the average moves a fifth of the way (520 ms).
    expect(c.observe(1_000)).toBe(Math.ceil(30 * 0.52 * 1.25));
    expect(feed(c, 100, 400)).toBeLessThanOrEqual(16);
    expect(c.blobMs).toBeCloseTo(400, 3);
  });

  it("halves on a throttle, once per round of blobs in flight, then grows back by about one per round", () => {
    const c = new ConcurrencyController({ max: 32, ratePerSecond: 30 });
    feed(c, 50, 400);
    expect(c.target).toBe(15);
    expect(c.observe(400, true)).toBe(7);
    // The other 14 blobs in flight when it came saw the same throttle: no second halving.
    for (let i = 0; i < 14; i++) expect(c.observe(400, true)).toBe(7);
    // A throttle in the next round halves again.
    expect(c.observe(400, true)).toBe(3);
    // Then back up by about one per round (3 blobs at 3, 4 at 4, ...) until Little's law caps it.
    const after: number[] = [];
    for (let i = 0; i < 200; i++) after.push(c.observe(400));
    expect(after[0]).toBe(3);
    expect(Math.max(...after.slice(0, 12))).toBeLessThanOrEqual(6);
    expect(after.at(-1)).toBe(15);
    for (let i = 1; i < after.length; i++) expect(after[i] - after[i - 1]).toBeLessThanOrEqual(1);
  });

  it("is deterministic: the same samples give the same targets", () => {
    const samples = Array.from({ length: 300 }, (_, i) => ({
      ms: 200 + ((i * 37) % 300),
      throttled: i % 97 === 0,
    }));
    const run = () => {
      const c = new ConcurrencyController({ max: 32, ratePerSecond: 30 });
      return samples.map((s) => c.observe(s.ms, s.throttled));
    };
    expect(run()).toEqual(run());
  });

  it("refuses a max below one or a rate that is not positive", () => {
    expect(() => new ConcurrencyController({ max: 0, ratePerSecond: 30 })).toThrow(RangeError);
    expect(() => new ConcurrencyController({ max: 4, ratePerSecond: 0 })).toThrow(RangeError);
  });
});

describe("QueryConcurrency", () => {
  it("keeps the configured number of queries in flight until Graph refuses one", () => {
    const c = new QueryConcurrency(10);
    expect(c.target).toBe(10);
    for (let i = 0; i < 20; i++) c.succeeded();
    expect(c.target).toBe(10);
  });

  it("halves on a 429, once per round of queries, then grows back about one per round", () => {
    const c = new QueryConcurrency(10);
    expect(c.throttled()).toBe(5);
    // The other 9 queries in flight may meet the same limit: no second halving for them.
    for (let i = 0; i < 8; i++) expect(c.throttled()).toBe(5);
    c.succeeded();
    expect(c.throttled()).toBe(2);
    for (let i = 0; i < 4; i++) c.throttled();
    expect(c.throttled()).toBe(1);
    // Back up slowly: after n queries at target t, about n / t more.
    const targets: number[] = [];
    for (let i = 0; i < 60; i++) targets.push(c.succeeded());
    expect(targets[0]).toBe(2);
    expect(targets[40]).toBeLessThan(10);
    expect(targets[59]).toBe(10);
    expect(targets.filter((t) => t === 5).length).toBeGreaterThan(3);
  });

  it("refuses a max below one", () => {
    expect(() => new QueryConcurrency(0)).toThrow(RangeError);
  });
});
