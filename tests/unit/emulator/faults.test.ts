import { describe, expect, it, vi } from "vitest";
import { startEmulator } from "../../../emulator/index";
import {
  apiClient,
  credentials,
  errorCode,
  feedUrl,
  tokenRequest,
  TINY_START,
  TINY_TENANT,
  withTinyEmulator,
} from "./helpers";

describe("faults (each off by default, opt in by rate)", () => {
  it("serves cleanly with the defaults", async () => {
    await withTinyEmulator({}, async (emu) => {
      const c = await apiClient(emu);
      for (let i = 0; i < 20; i++)
        expect((await c.get(feedUrl(emu, "subscriptions/list"))).status).toBe(200);
      expect(Object.values(emu.stats().faults).every((n) => n === 0)).toBe(true);
    });
  });

  it("answers 500 AF50000 or 503 at serverErrorRate", async () => {
    await withTinyEmulator({ faults: { serverErrorRate: 1 } }, async (emu) => {
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
    await withTinyEmulator({ faults: { resetRate: 1 } }, async (emu) => {
      const c = await apiClient(emu);
      await expect(c.get(feedUrl(emu, "subscriptions/list"))).rejects.toThrow(
        /ECONNRESET|socket hang up/,
      );
      expect(emu.stats().faults.reset).toBe(1);
    });
  });

  it("cuts bodies off midway at truncateRate", async () => {
    await withTinyEmulator({ faults: { truncateRate: 1 } }, async (emu) => {
      const c = await apiClient(emu);
      await expect(c.get(feedUrl(emu, "subscriptions/list"))).rejects.toThrow(
        /aborted|ECONNRESET|socket hang up/,
      );
      expect(emu.stats().faults.truncated).toBe(1);
    });
  });

  it("lets bodies trickle at slowBodyRate, and adds latencyMs", async () => {
    await withTinyEmulator({ faults: { slowBodyRate: 1, slowBodyMs: 400 } }, async (emu) => {
      const c = await apiClient(emu);
      const t0 = Date.now();
      const res = await c.get(feedUrl(emu, "subscriptions/list"));
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body)).toEqual([]);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(350);
    });
    await withTinyEmulator({ latencyMs: [300, 300] }, async (emu) => {
      const c = await apiClient(emu);
      const t0 = Date.now();
      expect((await c.get(feedUrl(emu, "subscriptions/list"))).status).toBe(200);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    });
  });

  it("throttles every caller during a throttle storm, then lets calls through again", async () => {
    await withTinyEmulator(
      { faults: { throttleStormRate: 0.2, throttleStormMs: 300 }, throttleStatus: 429 },
      async (emu) => {
        const c = await apiClient(emu);
        let throttled = 0;
        for (let i = 0; i < 40 && throttled === 0; i++)
          if ((await c.get(feedUrl(emu, "subscriptions/list"))).status === 429) throttled++;
        expect(throttled).toBe(1);
        expect(emu.stats().faults.throttleStorm).toBe(1);
        expect((await c.get(feedUrl(emu, "subscriptions/list"))).status).toBe(429);
        // Storms last real time, not simulated time: the process's Date moves past the storm
        // instead of waiting for it.
        vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 350 });
        try {
          const statuses: number[] = [];
          for (let i = 0; i < 3; i++)
            statuses.push((await c.get(feedUrl(emu, "subscriptions/list"))).status);
          expect(statuses).toContain(200);
        } finally {
          vi.useRealTimers();
        }
      },
    );
  });

  it("makes the token endpoint unavailable at tokenOutageRate", async () => {
    await withTinyEmulator(
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

  it("revokes every issued token just before the n-th API call at revokeTokensAtRequests", async () => {
    await withTinyEmulator({ faults: { revokeTokensAtRequests: [3, 5] } }, async (emu) => {
      let c = await apiClient(emu);
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) {
        const res = await c.get(feedUrl(emu, "subscriptions/list"));
        statuses.push(res.status);
        // A client that meets a 401 gets a new token once.
        if (res.status === 401) c = await apiClient(emu);
      }
      expect(statuses).toEqual([200, 200, 401, 200, 401, 200]);
      expect(emu.stats().faults.tokenRevocations).toBe(2);
      expect(emu.stats().unauthorized).toBe(2);
    });
  });

  it("draws the same faults for the same seed and request sequence", async () => {
    const run = async (seed: string) => {
      const emu = await startEmulator({
        seed,
        startTime: TINY_START,
        tenant: TINY_TENANT,
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
