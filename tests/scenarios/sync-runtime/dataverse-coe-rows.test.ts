import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DataverseRow, RunningDataverse } from "../../../emulator/index";
import { DAY, HOUR, startTestEnv, type TestEnv } from "./harness";

/**
 * The rows the sink writes equal, column by column, what the CoE Starter Kit's Sync Audit Logs
 * (V2) and Update Data (V2) write together: for apps in admin_apps at once; for an app the
 * inventory adds later, once it is there (held until then); for an app never added, after the
 * 48-hour hold, without the lookup. A run of the inventory flows that rewrites admin_apps in
 * between never makes admin_applastlaunchedon go backwards.
 */
describe("the Dataverse sink's rows against the CoE flows'", () => {
  // A Thursday: the day before is a weekday, when people launch apps.
  const start = new Date("2026-03-05T00:00:00Z");
  let t: TestEnv;

  beforeAll(async () => {
    t = await startTestEnv({
      seed: "coe-rows",
      startTime: start,
      tenant: {
        days: 1,
        futureDays: 4,
        apps: 6,
        environments: 2,
        users: 20,
        launchesPerDay: 120,
        deletes: 0,
        abandonedApps: 0,
        legacySchemaShare: 0.3,
      },
      // Hourly content blobs (the emulator's default is one per 10 minutes): this test is about
      // the Dataverse rows, and fewer blobs make the passes that fill storage cheaper.
      content: { blobIntervalMinutes: 60 },
      // Apps 3 and 6 are not (yet) in admin_apps.
      dataverse: { missingAppEvery: 3 },
    });
  });
  afterAll(async () => t?.stop());

  it("writes the flows' rows, holds launches of apps admin_apps lacks, and never moves a last launch back", async () => {
    const dv = t.emulator.dataverse!;
    const runtime = t.runtime();
    const seeded = new Set(dv.seededAppIds());
    const appIds = [
      ...new Set(dv.launches().flatMap((e) => (e.appId ? [e.appId.toLowerCase()] : []))),
    ];
    const missing = appIds.filter((id) => !seeded.has(id));
    expect(missing).toHaveLength(2);
    const [addedLater, neverAdded] = missing;

    // Pass 1: rows for the apps admin_apps has, launches of the two others held.
    await runtime.sync();
    expectFlowRows(dv);
    const rows1 = dv.rows("admin_auditlogs");
    expect(rows1.length).toBeGreaterThan(50);
    expect(rows1.filter((r) => missing.includes(String(r.admin_appid)))).toEqual([]);
    expect(runtime.metrics.get("audit_dataverse_held")).toBeGreaterThan(0);

    // The inventory flows add one app, and rewrite another's row with a later last launch than
    // any launch the sink has seen (as an inventory run that read it from elsewhere would).
    dv.seed("admin_apps", addedLater, {
      admin_displayname: "Added By Inventory",
      admin_applastlaunchedon: null,
      admin_appdeleted: false,
      admin_appdeletedon: null,
      admin_usespremiumapi: true,
    });
    const rewritten = [...seeded].find((id) => appRow(dv, id).admin_applastlaunchedon)!;
    const inventoryLast = "2030-01-01T00:00:00Z";
    dv.seed("admin_apps", rewritten, {
      ...appRow(dv, rewritten),
      admin_applastlaunchedon: inventoryLast,
    });

    // Pass 2, half a day later: the added app's launches are written with its lookup.
    t.emulator.clock.set(new Date(start.getTime() + 12 * HOUR));
    await runtime.sync();
    expectFlowRows(dv);
    const rows2 = dv.rows("admin_auditlogs");
    expect(rows2.filter((r) => r.admin_appid === addedLater).length).toBeGreaterThan(0);
    expect(rows2.filter((r) => r.admin_appid === neverAdded)).toEqual([]);
    expect(appRow(dv, rewritten).admin_applastlaunchedon).toBe(inventoryLast);

    // Pass 3, past the hold of the first launches: those of the app never added are written
    // without the lookup and counted; its launches younger than 48 hours still wait.
    t.emulator.clock.set(new Date(start.getTime() + 3 * DAY));
    await runtime.sync();
    expectFlowRows(dv);
    const now = t.emulator.clock.now().getTime();
    const orphans = dv.rows("admin_auditlogs").filter((r) => r.admin_appid === neverAdded);
    expect(orphans.length).toBeGreaterThan(0);
    for (const r of orphans)
      expect(now - Date.parse(String(r.admin_creationtime))).toBeGreaterThanOrEqual(48 * HOUR);
    expect(runtime.metrics.get("audit_dataverse_launches_without_app_total")).toBe(orphans.length);
    expect(runtime.metrics.get("audit_dataverse_held")).toBeGreaterThan(0);
    expect(appRow(dv, rewritten).admin_applastlaunchedon).toBe(inventoryLast);

    // Every other app's last launch is its latest launch written, as Update Data (V2) leaves it.
    const written = dv.rows("admin_auditlogs");
    for (const id of seeded) {
      if (id === rewritten) continue;
      const latest = written
        .filter((r) => r.admin_appid === id)
        .map((r) => String(r.admin_creationtime))
        .sort()
        .at(-1);
      expect({ id, last: appRow(dv, id).admin_applastlaunchedon }).toEqual({
        id,
        last: latest ?? null,
      });
    }
  }, 240_000);
});

function appRow(dv: RunningDataverse, id: string): DataverseRow {
  return dv.rows("admin_apps").find((r) => r.admin_appid === id)!;
}

/**
 * Every admin_auditlogs row equals what the two flows write for its launch: Sync Audit Logs (V2)
 * the record's columns, the title and the lookup (its Graph path admin_userid), Update Data
 * (V2) the inventory's app name, the environment's display name and premium. A row of an app
 * admin_apps lacks (the flows write none) has the record's own app name and no lookup.
 */
function expectFlowRows(dv: RunningDataverse): void {
  const apps = new Map(dv.rows("admin_apps").map((r) => [String(r.admin_appid), r]));
  const envs = new Map(
    dv.rows("admin_environments").map((r) => [String(r.admin_environmentid), r.admin_displayname]),
  );
  const launches = new Map(dv.launches().map((e) => [e.id.toLowerCase(), e]));
  const rows = dv.rows("admin_auditlogs");
  for (const row of rows) {
    const e = launches.get(String(row.admin_auditlogid))!;
    expect(e).toBeDefined();
    const appId = e.appId!.toLowerCase();
    const app = apps.get(appId);
    const created = new Date(e.timeMs).toISOString().replace(/\.\d{3}Z$/, "");
    const expected: Record<string, unknown> = {
      admin_auditlogid: e.id.toLowerCase(),
      admin_title: `Power App Launch ${e.appId} - ${created}`,
      admin_creationtime: `${created}Z`,
      admin_appid: e.appId,
      admin_operation: "LaunchPowerApp",
      admin_workload: e.legacy ? "PowerApps" : "PowerPlatform",
      admin_userupn: e.upn,
      admin_userid: e.userObjectId,
      admin_appenvironment: envs.get(e.environmentId.toLowerCase()),
      ...(app
        ? {
            _admin_applookup_value: appId,
            admin_appname: app.admin_displayname,
            admin_appispremium: app.admin_usespremiumapi,
          }
        : // The older record schema carries no app name.
          e.legacy
          ? {}
          : { admin_appname: e.appName }),
    };
    const { versionnumber: _, ...actual } = row;
    expect(actual).toEqual(expected);
  }
}
