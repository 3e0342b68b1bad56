import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { comparable, DAY, HOUR, startTestEnv, type TestEnv } from "./harness";
import type { DataverseRow } from "../../../emulator/index";

/**
 * The Dataverse sink against the emulator's CoE environment and Azurite: a simulated week with
 * duplicates, late records, API faults, Dataverse throttling, a Dataverse outage and a pass
 * killed mid-way. The CoE tables must hold exactly one admin_auditlogs row per launch, admin_apps
 * must carry each app's last launch and deletion, and launches/unique users per app computed from
 * admin_auditlogs (as the CoE Power BI dashboard does) must equal the runtime's own report.
 */
describe("the Dataverse sink over a simulated week", () => {
  const start = new Date("2026-03-02T00:00:00Z");
  let t: TestEnv;

  beforeAll(async () => {
    t = await startTestEnv({
      seed: "coe-week",
      startTime: start,
      pageSize: 5,
      tenant: {
        days: 1,
        futureDays: 7,
        apps: 12,
        environments: 2,
        users: 15,
        launchesPerDay: 80,
        deletes: 3,
        legacySchemaShare: 0.35,
        unparsedShare: 0.03,
      },
      content: {
        blobIntervalMinutes: 60,
        duplicateShare: 0.15,
        lateListingShare: 0.1,
        lateAvailabilityShare: 0.05,
      },
      faults: { serverErrorRate: 0.02, resetRate: 0.01 },
      // Every 7th Dataverse request is throttled (429, Retry-After: 1).
      // An environment without UpsertMultiple on the CoE tables: the sink writes with $batch.
      dataverse: { throttleEvery: 7, missingAppEvery: 4, bulkMessages: false },
    });
  });
  afterAll(async () => t?.stop());

  it("fills the CoE tables exactly, through throttling, an outage and a killed pass", async () => {
    const dv = t.emulator.dataverse!;
    // Launches of apps missing from admin_apps are written at once here (the hold has its own test).
    const runtime = t.runtime({ AUDIT_DATAVERSE_HOLD_HOURS: "0" }, { sleep: async () => {} });
    await runtime.sync();
    let passes = 1;
    for (
      let now = start.getTime() + 6 * HOUR;
      now <= start.getTime() + 7 * DAY + 12 * HOUR;
      now += 6 * HOUR
    ) {
      t.emulator.clock.set(new Date(now));
      passes++;
      if (passes === 5) dv.setDown(true);
      if (passes === 8) dv.setDown(false);
      if (passes === 10) {
        // A pass killed after its first blobs: nothing half-written may count twice.
        const stop = new AbortController();
        const killed = runtime.sync({ signal: stop.signal });
        setTimeout(() => stop.abort(new Error("killed")), 30);
        await killed.catch(() => undefined);
      }
      await runtime.sync();
    }

    const window = {
      from: new Date(start.getTime() - DAY),
      to: new Date(start.getTime() + 7 * DAY),
    };
    const asOf = t.emulator.clock.now();
    const truth = t.emulator.groundTruth(window, { asOf, daily: true });
    const report = await runtime.report(window);
    expect(comparable(report)).toEqual(comparable(truth));

    const rows = dv.rows("admin_auditlogs");
    // Exactly one row per launch: as many rows as launches, with distinct ids.
    const launches = truth.apps.reduce((n, a) => n + a.launches, 0);
    expect(new Set(rows.map((r) => r.admin_auditlogid)).size).toBe(rows.length);
    expect(rows.length).toBe(launches);

    // What the CoE dashboard computes from admin_auditlogs equals our report.
    expect(usageFromRows(rows)).toEqual(
      Object.fromEntries(
        report.apps.map((a) => [
          a.appId.toLowerCase(),
          { launches: a.launches, users: a.uniqueUsers },
        ]),
      ),
    );

    // The lookup is there exactly for apps admin_apps has; the others are counted.
    const seeded = new Set(dv.seededAppIds());
    for (const r of rows) {
      expect(r._admin_applookup_value ?? null).toBe(
        seeded.has(String(r.admin_appid).toLowerCase())
          ? String(r.admin_appid).toLowerCase()
          : null,
      );
      expect(String(r.admin_title)).toBe(
        `Power App Launch ${r.admin_appid} - ${String(r.admin_creationtime).replace(/Z$/, "")}`,
      );
    }
    const withoutApp = rows.filter((r) => !seeded.has(String(r.admin_appid).toLowerCase())).length;
    expect(withoutApp).toBeGreaterThan(0);
    expect(
      runtime.metrics.get("audit_dataverse_launches_without_app_total"),
    ).toBeGreaterThanOrEqual(withoutApp);

    // admin_apps: last launch and deletion as the tenant's events say.
    const apps = new Map(dv.rows("admin_apps").map((r) => [String(r.admin_appid), r]));
    const truthApps = dv.appTruth();
    expect(truthApps.some((a) => a.deleted)).toBe(true);
    for (const a of truthApps) {
      const row = apps.get(a.appId)!;
      expect({
        id: a.appId,
        last: row.admin_applastlaunchedon,
        deleted: row.admin_appdeleted,
        on: row.admin_appdeletedon,
      }).toEqual({
        id: a.appId,
        last: a.lastLaunchedOn,
        deleted: a.deleted,
        on: a.deletedOn,
      });
    }

    // The faults really happened, and the limits held.
    const c = dv.counters();
    expect(c.throttled).toBeGreaterThan(0);
    expect(c.peakConcurrent).toBeLessThanOrEqual(52);
    expect(runtime.metrics.get("audit_dataverse_failures_total")).toBeGreaterThan(0);
    expect(runtime.metrics.get("audit_dataverse_pending")).toBe(0);
    expect(t.logs.some((l) => l.includes("writing to Dataverse failed"))).toBe(true);
  }, 240_000);
});

/** Launches and unique users per app from admin_auditlogs, as the CoE Power BI report counts them. */
function usageFromRows(rows: DataverseRow[]): Record<string, { launches: number; users: number }> {
  const byApp = new Map<string, { launches: number; users: Set<string> }>();
  for (const r of rows) {
    const id = String(r.admin_appid).toLowerCase();
    const a = byApp.get(id) ?? { launches: 0, users: new Set<string>() };
    a.launches++;
    if (r.admin_userupn) a.users.add(String(r.admin_userupn).toLowerCase());
    byApp.set(id, a);
  }
  return Object.fromEntries(
    [...byApp].map(([id, a]) => [id, { launches: a.launches, users: a.users.size }]),
  );
}
