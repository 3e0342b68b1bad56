import { describe, expect, it } from "vitest";
import { createClock } from "../../emulator/clock";
import { startEmulator } from "../../emulator/index";
import { resolveOptions } from "../../emulator/options";
import { listingWindow, parseApiTime } from "../../emulator/listing-rules";

describe("options", () => {
  it("fills documented defaults, faults off", () => {
    const o = resolveOptions();
    expect(o).toMatchObject({
      seed: "coe-audit-sync",
      port: 0,
      clockMode: "real",
      quotaPerMinute: 2000,
      sharedQuotaPerMinute: 500,
      pageSize: 200,
      tokenLifetimeSeconds: 3599,
      throttleStatus: "mixed",
    });
    expect(Object.values(o.faults).filter((v) => v > 0)).toEqual([1500, 2000]);
    expect(o.faults.tokenOutageRetryAfterSeconds).toBe(0);
    expect(resolveOptions({ startTime: new Date() }).clockMode).toBe("simulated");
  });

  it("rejects bad options, naming every problem", async () => {
    const error = await startEmulator({
      quotaPerMinute: 0,
      tenant: { apps: 2, deletes: 3, abandonedApps: 1.5 },
      faults: { resetRate: 2 },
      tenantId: "tenant",
    }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    for (const problem of [
      "quotaPerMinute must be an integer >= 1, got 0",
      "tenant.deletes must not exceed tenant.apps",
      "tenant.abandonedApps must be an integer >= 0, got 1.5",
      "faults.resetRate must be between 0 and 1, got 2",
      "tenantId must be a GUID, got tenant",
    ])
      expect((error as Error).message).toContain(problem);
  });
});

describe("clock", () => {
  it("simulated time stands still until set or advanced", async () => {
    const clock = createClock("simulated", new Date("2026-05-20T12:00:00Z"));
    await new Promise((r) => setTimeout(r, 20));
    expect(clock.now().toISOString()).toBe("2026-05-20T12:00:00.000Z");
    clock.advance(90_000);
    expect(clock.now().toISOString()).toBe("2026-05-20T12:01:30.000Z");
    clock.set(new Date("2026-06-01T00:00:00Z"));
    expect(clock.now().toISOString()).toBe("2026-06-01T00:00:00.000Z");
    expect(() => clock.set(new Date("nope"))).toThrow(/valid Date/);
  });

  it("real time keeps running, shifted by set/advance", () => {
    const clock = createClock("real");
    expect(Math.abs(clock.now().getTime() - Date.now())).toBeLessThan(50);
    clock.advance(3_600_000);
    expect(Math.abs(clock.now().getTime() - Date.now() - 3_600_000)).toBeLessThan(50);
  });
});

describe("listing window rules (pure)", () => {
  const now = Date.parse("2026-05-20T12:00:00Z");
  it("parses exactly the three documented formats as UTC", () => {
    expect(parseApiTime("2026-05-19")).toBe(Date.parse("2026-05-19T00:00:00Z"));
    expect(parseApiTime("2026-05-19T13:17")).toBe(Date.parse("2026-05-19T13:17:00Z"));
    expect(parseApiTime("2026-05-19T13:17:34")).toBe(Date.parse("2026-05-19T13:17:34Z"));
    for (const bad of [
      "2026-05-19T13:17:34Z",
      "2026-05-19T13:17:34.000",
      "2026-5-19",
      "2026-05-19 13:17",
      "2026-13-01",
      "2026-05-19T24:00",
    ])
      expect(parseApiTime(bad), bad).toBeNull();
  });

  it("defaults to the last 24 hours and enforces 24 h / 7 days", () => {
    expect(listingWindow(undefined, undefined, now)).toEqual({
      ok: true,
      startMs: now - 86_400_000,
      endMs: now,
    });
    expect(listingWindow("2026-05-19T12:00", "2026-05-20T12:00", now).ok).toBe(true);
    expect(listingWindow("2026-05-19T12:00", "2026-05-20T12:00:01", now).ok).toBe(false);
    expect(listingWindow("2026-05-13T12:00", "2026-05-13T13:00", now).ok).toBe(true);
    expect(listingWindow("2026-05-13T11:59:59", "2026-05-13T13:00", now).ok).toBe(false);
  });
});
