import { describe, expect, it } from "vitest";
import {
  ApiError,
  ThrottledError,
  TransportError,
} from "../../../../../sync-runtime/src/core/errors";
import {
  DEFAULT_RETRY_POLICY,
  retryDelayMs,
  withRetry,
} from "../../../../../sync-runtime/src/clients/http/retry";

const policy = {
  ...DEFAULT_RETRY_POLICY,
  maxRetries: 3,
  minDelayMs: 100,
  maxDelayMs: 1000,
  factor: 2,
};
const url = "https://x/api";

describe("retryDelayMs", () => {
  it("lets Retry-After win over backoff, capped by the policy", () => {
    const throttled = new ThrottledError({ status: 429, url, retryAfterMs: 7000 });
    expect(retryDelayMs(policy, 1, throttled)).toBe(7000);
    const huge = new ThrottledError({ status: 429, url, retryAfterMs: 10 * 3_600_000 });
    expect(retryDelayMs(policy, 1, huge)).toBe(policy.maxRetryAfterMs);
  });

  it("backs off exponentially with full jitter between min and the capped step", () => {
    const err = new TransportError(url, "reset");
    expect(retryDelayMs(policy, 1, err, () => 1)).toBe(100);
    expect(retryDelayMs(policy, 3, err, () => 1)).toBe(400);
    expect(retryDelayMs(policy, 10, err, () => 1)).toBe(1000);
    expect(retryDelayMs(policy, 10, err, () => 0)).toBe(100);
    const spread = new Set(Array.from({ length: 20 }, () => retryDelayMs(policy, 4, err)));
    expect(spread.size).toBeGreaterThan(1);
  });
});

describe("withRetry", () => {
  const noSleep = { sleep: async () => {} };

  it("retries 5xx, network failures and throttling until success", async () => {
    const failures = [
      new ApiError({ status: 503, url, message: "x" }),
      new TransportError(url, "reset"),
      new ThrottledError({ status: 403, afCode: "AF429", url }),
    ];
    let calls = 0;
    const result = await withRetry(
      policy,
      async () => {
        calls++;
        const f = failures.shift();
        if (f) throw f;
        return "ok";
      },
      noSleep,
    );
    expect(result).toBe("ok");
    expect(calls).toBe(4);
  });

  it("stops after maxRetries retries", async () => {
    let calls = 0;
    await expect(
      withRetry(
        policy,
        async () => {
          calls++;
          throw new ApiError({ status: 500, url, message: "boom" });
        },
        noSleep,
      ),
    ).rejects.toThrow("boom");
    expect(calls).toBe(policy.maxRetries + 1);
  });

  it("never retries other 4xx", async () => {
    let calls = 0;
    await expect(
      withRetry(
        policy,
        async () => {
          calls++;
          throw new ApiError({ status: 401, afCode: "AF10001", url, message: "consent" });
        },
        noSleep,
      ),
    ).rejects.toThrow("consent");
    expect(calls).toBe(1);
  });

  it("waits the delay it computed before each retry", async () => {
    const slept: number[] = [];
    let calls = 0;
    await withRetry(
      policy,
      async () => {
        if (calls++ === 0) throw new ThrottledError({ status: 429, url, retryAfterMs: 1234 });
      },
      { sleep: async (ms) => void slept.push(ms) },
    );
    expect(slept).toEqual([1234]);
  });
});
