import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOG_EVENTS } from "../../../sync-runtime/contract";
import { AUDIT_LOG_TABLE } from "../../../emulator/dataverse-tables";
import { DATAVERSE_LIMITS } from "../../../sync-runtime/src/app/dataverse-sink";
import { DAY, startTestEnv, type TestEnv } from "./harness";

/**
 * One row Dataverse refuses for good among thousands: an app name of 150 characters on an older
 * CoE install, where admin_appname had MaxLength 100. Everything else arrives in the same pass,
 * the refused row is in the dead letters and in `gaps`, and nothing is sent twice (counted at
 * the emulator).
 */
describe("the Dataverse sink with a poisoned row", () => {
  // A Thursday: the two days before are weekdays, when people launch apps.
  const start = new Date("2026-03-05T00:00:00Z");
  const maxLength = AUDIT_LOG_TABLE.columns.admin_appname.maxLength;
  let t: TestEnv;

  beforeAll(async () => {
    // The environment is an older CoE install: admin_appname holds 100 characters.
    AUDIT_LOG_TABLE.columns.admin_appname.maxLength = 100;
    t = await startTestEnv(
      {
        seed: "coe-poison",
        startTime: start,
        tenant: { days: 2, apps: 10, users: 40, launchesPerDay: 1200, deletes: 2 },
        // Hourly content blobs (the emulator's default is one per 10 minutes): this test is about
        // the Dataverse rows, and fewer blobs make the passes that fill storage cheaper.
        content: { blobIntervalMinutes: 60 },
        dataverse: { missingAppEvery: 0 },
      },
      // Launches of apps not in admin_apps are written at once (the hold is another test's).
      { AUDIT_DATAVERSE_HOLD_HOURS: "0", AUDIT_FIRST_RUN_HOURS: "72" },
    );
  });
  afterAll(async () => {
    AUDIT_LOG_TABLE.columns.admin_appname.maxLength = maxLength;
    await t?.stop();
  });

  it("writes everything else in the same pass, dead-letters the poison and sends nothing twice", async () => {
    const dv = t.emulator.dataverse!;
    const runtime = t.runtime();
    await runtime.ready();
    const poison = {
      kind: "launch" as const,
      recordId: "0badc0de-0000-4000-8000-000000000001",
      creationTime: new Date(start.getTime() - DAY / 2).toISOString(),
      appId: "0badc0de-0000-4000-8000-0000000000aa",
      appName: "A".repeat(150),
      environmentId: null,
      userUpn: "poison@contoso.com",
      userKey: null,
      schema: "purview" as const,
    };
    // Stored before the pass (as a launch of an earlier pass would be), so it is first in line.
    await runtime.store.dataverseOutbox!.add([poison]);

    await runtime.sync();

    const window = { from: new Date(start.getTime() - 3 * DAY), to: start };
    const truth = t.emulator.groundTruth(window, { asOf: t.emulator.clock.now() });
    const launches = truth.apps.reduce((n, a) => n + a.launches, 0);
    expect(launches).toBeGreaterThan(1500);
    const rows = dv.rows("admin_auditlogs");
    // Every launch but the poison, in this one pass.
    expect(rows).toHaveLength(launches);
    expect(rows.some((r) => r.admin_auditlogid === poison.recordId)).toBe(false);

    // The poison is in the dead letters with Dataverse's error, listed in gaps, counted, logged.
    const [letter, ...more] = await runtime.dataverse!.rejectedGaps();
    expect(more).toEqual([]);
    expect(letter).toMatchObject({
      reason: "dataverseRejected",
      recordId: poison.recordId,
      appId: poison.appId,
      entitySet: "admin_auditlogs",
      status: 400,
    });
    expect(letter.detail).toContain("0x80044331");
    expect(letter.detail).toContain("admin_appname");
    expect(runtime.metrics.get("audit_dataverse_rejected_total")).toBe(1);
    expect(runtime.metrics.get("audit_dataverse_pending")).toBe(0);
    expect(runtime.metrics.get("audit_dataverse_dead_letters")).toBe(1);
    const logged = t.logs.filter((l) => l.includes(`"event":"${LOG_EVENTS.dataverseRejected}"`));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain(poison.recordId);

    // Nothing committed was sent twice: one operation per row (the poison's included), per app
    // update and per bulk read, plus the rows of the one UpsertMultiple the poison failed (all or
    // nothing, so none of them was written), sent again as a $batch to find it. A second drain
    // sends nothing at all.
    const c = dv.counters();
    const apps = truth.apps.length;
    expect(c.bulkRequests).toBeGreaterThan(0);
    expect(c.operations).toBeLessThanOrEqual(launches + 1 + DATAVERSE_LIMITS.bulkSize + apps + 10);
    await runtime.syncDataverse!();
    expect(dv.counters().requests).toBe(c.requests);

    // Once the admin fixed the cause (a CoE upgrade: 300 characters), the dead letter goes through.
    AUDIT_LOG_TABLE.columns.admin_appname.maxLength = 300;
    const retried = await runtime.dataverse!.retryRejected({});
    expect(retried).toMatchObject({ retried: 1, launchesWritten: 1, rejected: 0 });
    expect(dv.rows("admin_auditlogs")).toHaveLength(launches + 1);
    expect(await runtime.dataverse!.rejectedGaps()).toEqual([]);
  }, 180_000);
});
