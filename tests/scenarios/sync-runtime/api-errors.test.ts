import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ActivityApi } from "../../../sync-runtime/src/clients/activity-api";
import { ApiError, AuthError, ThrottledError } from "../../../sync-runtime/src/core/errors";
import { HttpClient } from "../../../sync-runtime/src/clients/http/client";
import { FAST_RETRY, startTestEnv, type TestEnv } from "./harness";

const H = 3_600_000;

describe("Management Activity API errors against the emulator", () => {
  let t: TestEnv | undefined;
  afterEach(async () => {
    await t?.stop();
    t = undefined;
  });

  it("AF10001 (no consent) fails at once with what to do", async () => {
    t = await startTestEnv(
      { seed: "e1", consentGranted: false, startTime: new Date("2026-01-10T00:00:00Z") },
      {},
      { storage: false },
    );
    const runtime = t.runtime();
    const err = await runtime.api.listSubscriptions().catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.afCode).toBe("AF10001");
    expect(err.message).toMatch(/admin consent/);
    expect(runtime.metrics.get("audit_http_retries_total")).toBe(0);
  });

  it("AF20055 (window rules) is not retried and names the window rule", async () => {
    t = await startTestEnv(
      { seed: "e2", startTime: new Date("2026-01-10T00:00:00Z") },
      {},
      { storage: false },
    );
    const runtime = t.runtime();
    await runtime.api.startSubscription("Audit.General");
    const now = t.emulator.clock.now().getTime();
    const before = t.emulator.stats().requests;
    const pages = runtime.api.listContent("Audit.General", new Date(now - 30 * H), new Date(now));
    const err = await pages.next().catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.afCode).toBe("AF20055");
    expect(err.message).toMatch(/24 h/);
    expect(t.emulator.stats().requests - before).toBe(1);
  });

  it("AF20024 on a second start is success; 5xx is retried until it passes", async () => {
    t = await startTestEnv(
      { seed: "e3", startTime: new Date("2026-01-10T00:00:00Z"), faults: { serverErrorRate: 0.5 } },
      {},
      { storage: false },
    );
    const runtime = t.runtime({ AUDIT_MAX_RETRIES: "20" });
    const first = await runtime.api.startSubscription("Audit.General");
    expect(["started", "already-enabled"]).toContain(first);
    expect(await runtime.api.startSubscription("Audit.General")).toBe("already-enabled");
    const subs = await runtime.api.listSubscriptions();
    expect(subs).toEqual([
      expect.objectContaining({ contentType: "Audit.General", status: "enabled" }),
    ]);
    expect(t.emulator.stats().faults.serverError).toBeGreaterThan(0);
    expect(runtime.metrics.get("audit_http_retries_total")).toBe(
      t.emulator.stats().faults.serverError,
    );
  });

  it("gives up on persistent 5xx after the policy's retries", async () => {
    t = await startTestEnv(
      { seed: "e4", startTime: new Date("2026-01-10T00:00:00Z"), faults: { serverErrorRate: 1 } },
      {},
      { storage: false },
    );
    const runtime = t.runtime({ AUDIT_MAX_RETRIES: "3" });
    const err = await runtime.api.listSubscriptions().catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBeGreaterThanOrEqual(500);
    expect(t.emulator.stats().requests).toBe(4);
  });

  it("AF429/429: waits for Retry-After (capped by the policy) before each retry", async () => {
    t = await startTestEnv(
      { seed: "e5", startTime: new Date("2026-01-10T00:00:00Z"), quotaPerMinute: 2 },
      {},
      { storage: false },
    );
    // The backoff is recorded, not waited out: the policy, not the wall clock, is under test.
    const waits: number[] = [];
    const runtime = t.runtime(
      { AUDIT_MAX_RETRIES: "2" },
      { sleep: async (ms) => void waits.push(ms) },
    );
    await runtime.api.listSubscriptions();
    await runtime.api.listSubscriptions();
    const err = await runtime.api.listSubscriptions().catch((e) => e);
    expect(err).toBeInstanceOf(ThrottledError);
    // The emulator asked for about a minute; the test policy caps waits at 1 s: two retries.
    expect(err.retryAfterMs).toBeGreaterThan(30_000);
    expect(waits).toEqual([FAST_RETRY.maxRetryAfterMs, FAST_RETRY.maxRetryAfterMs]);
    expect(t.emulator.stats().throttled).toBe(3);
    expect(runtime.metrics.get("audit_throttled_total")).toBe(3);
  });
});

describe("token endpoint failures", () => {
  let t: TestEnv | undefined;
  afterEach(async () => {
    await t?.stop();
    t = undefined;
  });

  it("retries a token endpoint outage", async () => {
    t = await startTestEnv(
      { seed: "tok5", faults: { tokenOutageRate: 0.5 } },
      {},
      { storage: false },
    );
    const runtime = t.runtime({ AUDIT_MAX_RETRIES: "20" });
    await runtime.api.listSubscriptions();
    const stats = t.emulator.stats();
    expect(stats.faults.tokenOutage).toBeGreaterThan(0);
    expect(stats.tokensIssued).toBe(1);
  });

  it("fails at once, without the secret in the message, when the secret is wrong", async () => {
    t = await startTestEnv({ seed: "tok2" }, {}, { storage: false });
    const runtime = t.runtime({ AUDIT_CLIENT_SECRET: "wrong~secret-value" });
    const err = await runtime.api.listSubscriptions().catch((e) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect(err.transient).toBe(false);
    expect(err.message).toMatch(/AUDIT_CLIENT_SECRET/);
    expect(err.message).not.toContain("wrong~secret-value");
    expect(t.emulator.stats().tokenRequests).toBe(1);
  });
});

describe("a 401 from the API", () => {
  let server: ReturnType<typeof createServer> | undefined;
  afterEach(async () => {
    await new Promise((r) => server?.close(r));
    server = undefined;
  });

  /** A plain HTTP server answering like the API: 401 unless the bearer token is `valid`. */
  async function api(valid: string) {
    const seen: string[] = [];
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const token = (req.headers.authorization ?? "").replace("Bearer ", "");
      seen.push(token);
      if (token !== valid) {
        res.writeHead(401, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ error: { code: "AF10001", message: "token refused" } }));
        return;
      }
      res.writeHead(200, { "Content-Type": "application/json" }).end("[]");
    });
    await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
    return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, seen };
  }

  /** Hands out "stale" from its cache and a new token only when asked for a fresh one. */
  const tokens = (fresh: string) => {
    const calls: boolean[] = [];
    return {
      calls,
      getToken: async ({ fresh: f = false } = {}) => (calls.push(f), f ? fresh : "stale"),
    };
  };

  it("renews the token once and succeeds", async () => {
    const { url, seen } = await api("renewed");
    const tp = tokens("renewed");
    const client = new ActivityApi({
      audience: url,
      tenantId: "t",
      publisherId: "p",
      http: new HttpClient(),
      tokens: tp,
    });
    expect(await client.listSubscriptions()).toEqual([]);
    expect(seen).toEqual(["stale", "renewed"]);
    expect(tp.calls).toEqual([false, true]);
  });

  it("fails after a single renewal when the new token is refused too", async () => {
    const { url, seen } = await api("never");
    const tp = tokens("also-refused");
    const client = new ActivityApi({
      audience: url,
      tenantId: "t",
      publisherId: "p",
      http: new HttpClient(),
      tokens: tp,
    });
    const err = await client.listSubscriptions().catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(401);
    expect(seen).toEqual(["stale", "also-refused"]);
  });
});
