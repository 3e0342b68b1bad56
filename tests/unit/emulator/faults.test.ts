import { describe, expect, it } from "vitest";
import { startEmulator, type EmulatorOptions, type RunningEmulator } from "../../emulator/index";
import { Quota } from "../../emulator/quota";
import { apiClient, credentials, errorCode, feedUrl, tokenRequest } from "./helpers";

const START = new Date("2026-05-20T12:00:00Z");
const TINY = { days: 1, futureDays: 0, apps: 4, users: 5, launchesPerDay: 40 };

async function withEmulator(
  options: EmulatorOptions,
  body: (emu: RunningEmulator) => Promise<void>,
): Promise<void> {
  const emu = await startEmulator({ seed: "faults", startTime: START, tenant: TINY, ...options });
  try {
    await body(emu);
  } finally {
    await emu.stop();
  }
}

describe("quota per PublisherIdentifier", () => {
  it("throttles the call after quotaPerMinute with 403 AF429 and Retry-After, per publisher", async () => {
    await withEmulator(
      { quotaPerMinute: 5, sharedQuotaPerMinute: 2, throttleStatus: 403 },
      async (emu) => {
        const c = await apiClient(emu);
        const list = (publisher?: string) => {
          const url = new URL(feedUrl(emu, "subscriptions/list", {}, false));
          if (publisher) url.searchParams.set("PublisherIdentifier", publisher);
          return c.get(url.toString());
        };
        for (let i = 0; i < 5; i++) expect((await list(emu.tenant.tenantId)).status).toBe(200);
        const throttled = await list(emu.tenant.tenantId);
        expect(throttled.status).toBe(403);
        expect(errorCode(throttled)).toBe("AF429");
        const retryAfter = Number(throttled.headers["retry-after"]);
        expect(retryAfter).toBeGreaterThanOrEqual(55);
        expect(retryAfter).toBeLessThanOrEqual(60);
        // The publisher id is matched case-insensitively, another publisher has its own quota.
        expect((await list(emu.tenant.tenantId.toUpperCase())).status).toBe(403);
        expect((await list("55555555-5555-5555-5555-555555555555")).status).toBe(200);
        // Calls without a PublisherIdentifier share a separate, smaller quota.
        expect((await list()).status).toBe(200);
        expect((await list()).status).toBe(200);
        const shared = await list();
        expect(shared.status).toBe(403);
        expect(JSON.parse(shared.body).error.message).toContain(
          "00000000-0000-0000-0000-000000000000",
        );
        expect(emu.stats().throttled).toBe(3);
      },
    );
  });

  it("answers 429 when configured so, both statuses when mixed, and no Retry-After when disabled", async () => {
    await withEmulator(
      { quotaPerMinute: 1, throttleStatus: 429, retryAfter: false },
      async (emu) => {
        const c = await apiClient(emu);
        await c.get(feedUrl(emu, "subscriptions/list"));
        const res = await c.get(feedUrl(emu, "subscriptions/list"));
        expect(res.status).toBe(429);
        expect(errorCode(res)).toBe("AF429");
        expect(res.headers["retry-after"]).toBeUndefined();
      },
    );
    await withEmulator({ quotaPerMinute: 1, throttleStatus: "mixed" }, async (emu) => {
      const c = await apiClient(emu);
      const statuses = new Set<number>();
      for (let i = 0; i < 21; i++)
        statuses.add((await c.get(feedUrl(emu, "subscriptions/list"))).status);
      expect([...statuses].sort()).toEqual([200, 403, 429]);
    });
  });

  it("frees capacity exactly one minute after each accepted call (sliding window)", () => {
    const q = new Quota(3, 1);
    expect([q.take("p", 0), q.take("p", 10_000), q.take("p", 20_000)]).toEqual([0, 0, 0]);
    expect(q.take("p", 30_000)).toBe(30_000);
    expect(q.take("p", 59_999)).toBe(1);
    expect(q.take("p", 60_000)).toBe(0);
    expect(q.take("p", 60_001)).toBe(9_999);
    expect([q.take(undefined, 0), q.take(undefined, 1)]).toEqual([0, 59_999]);
  });
});

describe("faults (each off by default, opt in by rate)", () => {
  it("serves cleanly with the defaults", async () => {
    await withEmulator({}, async (emu) => {
      const c = await apiClient(emu);
      for (let i = 0; i < 20; i++)
        expect((await c.get(feedUrl(emu, "subscriptions/list"))).status).toBe(200);
      expect(Object.values(emu.stats().faults).every((n) => n === 0)).toBe(true);
    });
  });

  it("answers 500 AF50000 or 503 at serverErrorRate", async () => {
    await withEmulator({ faults: { serverErrorRate: 1 } }, async (emu) => {
      const c = await apiClient(emu);
      const statuses = new Set<number>();
      for (let i = 0; i < 12; i++) {
        const res = await c.get(feedUrl(emu, "subscriptions/list"));
        statuses.add(res.status);
        if (res.status === 500) expect(errorCode(res)).toBe("AF50000");
      }
      expect([...statuses].sort()).toEqual([500, 503]);
      expect(emu.stats().faults.serverError).toBe(12);
    });
  });

  it("resets connections at resetRate", async () => {
    await withEmulator({ faults: { resetRate: 1 } }, async (emu) => {
      const c = await apiClient(emu);
      await expect(c.get(feedUrl(emu, "subscriptions/list"))).rejects.toThrow(
        /ECONNRESET|socket hang up/,
      );
      expect(emu.stats().faults.reset).toBe(1);
    });
  });

  it("cuts bodies off midway at truncateRate", async () => {
    await withEmulator({ faults: { truncateRate: 1 } }, async (emu) => {
      const c = await apiClient(emu);
      await expect(c.get(feedUrl(emu, "subscriptions/list"))).rejects.toThrow(
        /aborted|ECONNRESET|socket hang up/,
      );
      expect(emu.stats().faults.truncated).toBe(1);
    });
  });

  it("lets bodies trickle at slowBodyRate, and adds latencyMs", async () => {
    await withEmulator({ faults: { slowBodyRate: 1, slowBodyMs: 400 } }, async (emu) => {
      const c = await apiClient(emu);
      const t0 = Date.now();
      const res = await c.get(feedUrl(emu, "subscriptions/list"));
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body)).toEqual([]);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(350);
    });
    await withEmulator({ latencyMs: [300, 300] }, async (emu) => {
      const c = await apiClient(emu);
      const t0 = Date.now();
      expect((await c.get(feedUrl(emu, "subscriptions/list"))).status).toBe(200);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    });
  });

  it("throttles every caller during a throttle storm, then lets calls through again", async () => {
    await withEmulator(
      { faults: { throttleStormRate: 0.2, throttleStormMs: 300 }, throttleStatus: 429 },
      async (emu) => {
        const c = await apiClient(emu);
        let throttled = 0;
        for (let i = 0; i < 40 && throttled === 0; i++)
          if ((await c.get(feedUrl(emu, "subscriptions/list"))).status === 429) throttled++;
        expect(throttled).toBe(1);
        expect(emu.stats().faults.throttleStorm).toBe(1);
        expect((await c.get(feedUrl(emu, "subscriptions/list"))).status).toBe(429);
        await new Promise((r) => setTimeout(r, 350));
        const statuses: number[] = [];
        for (let i = 0; i < 3; i++)
          statuses.push((await c.get(feedUrl(emu, "subscriptions/list"))).status);
        expect(statuses).toContain(200);
      },
    );
  });

  it("makes the token endpoint unavailable at tokenOutageRate", async () => {
    await withEmulator(
      { faults: { tokenOutageRate: 1, tokenOutageRetryAfterSeconds: 2 } },
      async (emu) => {
        const outcomes = new Set<string>();
        for (let i = 0; i < 10; i++) {
          try {
            const res = await tokenRequest(emu, credentials(emu));
            expect(res.status).toBe(503);
            expect(res.headers["retry-after"]).toBe("2");
            expect(JSON.parse(res.body).error).toBe("temporarily_unavailable");
            outcomes.add("503");
          } catch {
            outcomes.add("reset");
          }
        }
        expect([...outcomes].sort()).toEqual(["503", "reset"]);
        expect(emu.stats().faults.tokenOutage).toBe(10);
      },
    );
  });

  it("draws the same faults for the same seed and request sequence", async () => {
    const run = async (seed: string) => {
      const emu = await startEmulator({
        seed,
        startTime: START,
        tenant: TINY,
        faults: { serverErrorRate: 0.5 },
      });
      try {
        const c = await apiClient(emu);
        const out: number[] = [];
        for (let i = 0; i < 24; i++)
          out.push((await c.get(feedUrl(emu, "subscriptions/list"))).status);
        return out.join(",");
      } finally {
        await emu.stop();
      }
    };
    const a = await run("same");
    expect(a).toMatch(/200/);
    expect(a).toMatch(/50[03]/);
    expect(await run("same")).toBe(a);
    expect(await run("other")).not.toBe(a);
  });
});
