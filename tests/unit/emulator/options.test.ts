import { describe, expect, it } from "vitest";
import { startEmulator } from "../../../emulator/index";
import { resolveOptions } from "../../../emulator/options";

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
    // Every fault is off (its rate 0); the durations only say how a fault behaves once on.
    const rates = Object.entries(o.faults).filter(([key]) => key.endsWith("Rate"));
    expect(rates.length).toBeGreaterThanOrEqual(5);
    for (const [key, rate] of rates) expect(rate, key).toBe(0);
    expect(o.faults).toMatchObject({
      slowBodyMs: 1500,
      throttleStormMs: 2000,
      tokenOutageRetryAfterSeconds: 0,
      revokeTokensAtRequests: [],
    });
    // The bad input corpus is empty: nothing injected, the last listing page says nothing.
    expect(o.badInput).toEqual({
      from: null,
      to: null,
      blobs: [],
      records: [],
      hugeRecords: 0,
      hugeRecordBytes: 5 * 1024 * 1024,
      unknownErrorStatus: 400,
      unknownErrorCode: "AF99999",
      foreignHost: "localhost",
      finalNextPageUri: null,
    });
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
