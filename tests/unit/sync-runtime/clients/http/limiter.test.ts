import { describe, expect, it } from "vitest";
import { RateLimiter } from "../../../../../sync-runtime/src/clients/http/limiter";

describe("RateLimiter", () => {
  it("allows a burst, then paces requests at the configured rate", async () => {
    let now = 0;
    const limiter = new RateLimiter(600, {
      burst: 5,
      nowMs: () => now,
      sleep: async (ms) => {
        now += ms;
      },
    });
    for (let i = 0; i < 5; i++) await limiter.take();
    expect(now).toBe(0);
    for (let i = 0; i < 60; i++) await limiter.take();
    // 600/min = one per 100 ms: 60 more requests need 6 s of simulated time.
    expect(now).toBeGreaterThanOrEqual(6000);
    expect(now).toBeLessThan(6200);
  });

  it("counts the tokens handed out and the time their takers waited", async () => {
    let now = 0;
    const limiter = new RateLimiter(600, {
      burst: 1,
      nowMs: () => now,
      sleep: async (ms) => {
        now += ms;
      },
    });
    // Three takers at once: the first waits 0, the second 100 ms, the third 200 ms.
    await Promise.all([limiter.take(), limiter.take(), limiter.take()]);
    expect(limiter.usage().taken).toBe(3);
    expect(limiter.usage().waitedMs).toBe(300);
  });

  it("keeps the default burst at 5 seconds' worth of the rate", () => {
    expect(new RateLimiter(1800).burst).toBe(150);
  });

  it("really waits on the real clock", async () => {
    const limiter = new RateLimiter(60_000, { burst: 1 });
    const start = Date.now();
    for (let i = 0; i < 21; i++) await limiter.take();
    expect(Date.now() - start).toBeGreaterThanOrEqual(15);
  });
});
