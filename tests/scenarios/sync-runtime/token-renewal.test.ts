import { afterEach, describe, expect, it, vi } from "vitest";
import { TOKEN_RENEWAL_MARGIN_SECONDS } from "../../../sync-runtime/src/clients/auth";
import { startTestEnv, type TestEnv } from "./harness";

/**
 * Access tokens against the emulator's token endpoint. Token expiry follows the wall clock (the
 * emulator checks `exp` against Date.now, as Entra checks its own clock), and so does msal's
 * cache: both run in this process, so the tests move a faked Date forward instead of waiting.
 * Only Date is faked; timers and sockets stay real.
 * A token the runtime kept past its expiry would be refused with 401 and then renewed once by the
 * API client: the caller would still succeed, so the emulator's `unauthorized` count is what
 * shows whether an expired token was ever presented.
 */
describe("access tokens", () => {
  let t: TestEnv | undefined;
  afterEach(async () => {
    vi.useRealTimers();
    await t?.stop();
    t = undefined;
  });
  const fakeDate = () => vi.useFakeTimers({ toFake: ["Date"], now: Date.now() });
  const advance = (ms: number) => vi.setSystemTime(Date.now() + ms);

  it("reuses a long-lived token across many calls, concurrent first calls included", async () => {
    t = await startTestEnv({ seed: "tok-cache" }, {}, { storage: false });
    const runtime = t.runtime();
    // Ten calls before any token exists share one token request.
    await Promise.all(Array.from({ length: 10 }, () => runtime.api.listSubscriptions()));
    for (let i = 0; i < 20; i++) await runtime.api.listSubscriptions();
    const stats = t.emulator.stats();
    expect(stats.requests).toBe(30);
    expect(stats.tokenRequests).toBe(1);
    expect(stats.tokensIssued).toBe(1);
    expect(stats.unauthorized).toBe(0);
  });

  it("renews a cached token when less than the renewal margin remains, before it expires", async () => {
    // Valid 2 s beyond the margin: cached for 2-3 s, then replaced, while still valid.
    t = await startTestEnv(
      { seed: "tok-renew", tokenLifetimeSeconds: TOKEN_RENEWAL_MARGIN_SECONDS + 2 },
      {},
      { storage: false },
    );
    const runtime = t.runtime();
    fakeDate();
    const started = Date.now();
    let calls = 0;
    while (Date.now() - started < 5_000) {
      await runtime.api.listSubscriptions();
      calls++;
      advance(100);
    }
    const elapsedMs = Date.now() - started;
    const stats = t.emulator.stats();
    expect(stats.requests).toBe(calls);
    expect(stats.unauthorized).toBe(0);
    // Renewed at least once in 5 s, but cached in between: not a token per call.
    expect(stats.tokensIssued).toBeGreaterThanOrEqual(2);
    expect(stats.tokensIssued).toBeLessThanOrEqual(Math.ceil(elapsedMs / 2_000) + 1);
    expect(calls).toBeGreaterThan(2 * stats.tokensIssued);
  });

  it("a sync pass longer than the token lifetime never presents an expired token", async () => {
    // 3 s tokens, shorter than the renewal margin: msal never serves them from its cache, so
    // every call gets a fresh one. Each processed blob moves the clock 0.5 s (one blob at a
    // time), so the pass lasts longer than a token lives and a token kept too long is refused.
    const lifetime = 3;
    t = await startTestEnv(
      {
        seed: "tok-pass",
        startTime: new Date("2026-02-02T00:00:00Z"),
        tokenLifetimeSeconds: lifetime,
        tenant: { days: 1, futureDays: 1, apps: 3, users: 5, launchesPerDay: 40, deletes: 0 },
        content: { blobIntervalMinutes: 60 },
      },
      { AUDIT_BLOB_CONCURRENCY: "1" },
    );
    const runtime = t.runtime();
    fakeDate();
    const started = Date.now();
    const [result] = await runtime.sync({ onProgress: () => advance(500) });
    const elapsedMs = Date.now() - started;

    expect(elapsedMs).toBeGreaterThan(lifetime * 1000);
    expect(result.blobsProcessed).toBeGreaterThan(10);
    expect(result.blobsExpired).toBe(0);
    const stats = t.emulator.stats();
    expect(stats.unauthorized).toBe(0);
    expect(runtime.metrics.get("audit_http_retries_total")).toBe(0);
    expect(stats.tokensIssued).toBeGreaterThan(1);
    // A lifetime under the margin means no token is reused: one per API call, none wasted.
    expect(stats.tokensIssued).toBe(stats.requests);
  });
});
