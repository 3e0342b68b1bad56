import { afterEach, describe, expect, it } from "vitest";
import type { DataverseRow } from "../../../emulator/index";
import { TABLES } from "../../../sync-runtime/contract";
import { USER_DETAILS_RETRY } from "../../../sync-runtime/src/app/dataverse-sink";
import { MissingUserDetails } from "../../../sync-runtime/src/storage/dataverse-user-details";
import { DAY, HOUR, startTestEnv, type TestEnv } from "./harness";
import { expectUserRows, start, tenant, USER_COLUMNS } from "./user-details-tenant";

/**
 * Right after `pulumi up` the User.Read.All consent has not taken effect yet and Graph answers
 * 403: the rows are written at once without their users' details, remembered in Azure Storage,
 * and a later drain, once Graph answers, fills in their user columns (and nothing else) and
 * forgets them. Remembered rows that stay without details past USER_DETAILS_RETRY.maxAgeMs are
 * given up on, counted.
 */
describe("the Dataverse sink's user details after Graph refused them", () => {
  let t: TestEnv | undefined;
  afterEach(async () => {
    await t?.stop();
    t = undefined;
  });
  // By default the consent has not taken effect yet: Graph refuses every user with 403.
  const env = async ({ bulkMessages = true, userReadAll = false } = {}) =>
    (t = await startTestEnv({
      seed: "user-details-retry",
      startTime: start,
      tenant,
      // Hourly content blobs (the emulator's default is one per 10 minutes): this test is about
      // the Dataverse rows, and fewer blobs make the passes that fill storage cheaper.
      content: { blobIntervalMinutes: 60 },
      dataverse: { bulkMessages },
      graph: { userReadAll },
    }));
  const missing = () =>
    new MissingUserDetails(t!.runtime().storage.table(TABLES.dataverseUserDetails));

  it.each([
    ["UpdateMultiple", true],
    ["$batch (a table without the bulk messages)", false],
  ])(
    "fills the user columns of rows written while Graph refused, once it answers, sending nothing else: %s",
    async (_, bulkMessages) => {
      const { emulator } = await env({ bulkMessages });
      const dv = emulator.dataverse!;
      const runtime = t!.runtime({ AUDIT_DATAVERSE_USER_DETAILS: "true" });

      await runtime.sync();
      const rows1 = dv.rows("admin_auditlogs");
      expect(rows1.length).toBeGreaterThan(100);
      for (const row of rows1) for (const c of USER_COLUMNS) expect(row[c] ?? null).toBeNull();
      expect(runtime.metrics.get("audit_dataverse_user_details_failures_total")).toBeGreaterThan(0);
      // Every row is remembered, once.
      expect((await missing().first(Infinity)).map((m) => m.recordId).sort()).toEqual(
        rows1.map((r) => String(r.admin_auditlogid)).sort(),
      );
      expect(runtime.metrics.get("audit_dataverse_user_details_pending")).toBe(rows1.length);

      // Half a day later, Graph still refusing: the new rows are written all the same.
      emulator.clock.set(new Date(start.getTime() + 12 * HOUR));
      await runtime.sync();
      const rows2 = dv.rows("admin_auditlogs");
      expect(rows2.length).toBeGreaterThan(rows1.length);
      expect(runtime.metrics.get("audit_dataverse_failures_total")).toBe(0);
      expect(await missing().count()).toBe(rows2.length);

      // The consent takes effect. The next drain (no new rows) fills in every row's user columns.
      emulator.setUserReadAll(true);
      const before = snapshot(rows2);
      const counters = dv.counters();
      const filled = await runtime.syncDataverse!();
      const rows3 = dv.rows("admin_auditlogs");
      expect(rows3).toHaveLength(rows2.length);
      const { deleted } = expectUserRows(emulator, rows3);
      expect(deleted).toBeGreaterThan(0);
      expect(filled).toMatchObject({ launchesWritten: 0, detailsAbandoned: 0 });
      expect(filled.detailsFilled).toBe(rows3.length - deleted);
      expect(runtime.metrics.get("audit_dataverse_user_details_filled_total")).toBe(
        filled.detailsFilled,
      );
      // Nothing but the user columns changed, and only on rows whose user Graph has.
      for (const row of rows3) {
        const was = before.get(String(row.admin_auditlogid))!;
        const { versionnumber: _v, ...now } = withoutUserColumns(row);
        const { versionnumber: _w, ...then } = withoutUserColumns(was);
        expect(now).toEqual(then);
      }
      // One operation per filled row (UpdateMultiple counts its records, $batch its requests), and
      // the one query that asks whether admin_auditlogs has UpdateMultiple: no row was sent again.
      const c = dv.counters();
      expect(c.operations - counters.operations).toBe(filled.detailsFilled + 1);
      if (bulkMessages) expect(c.bulkRequests - counters.bulkRequests).toBeGreaterThan(0);
      else {
        expect(c.bulkRequests).toBe(0);
        expect(c.batches - counters.batches).toBeGreaterThan(0);
      }
      expect(await missing().count()).toBe(0);

      // Done: the next drain sends nothing and asks Graph nothing.
      const requests = dv.counters().requests;
      const reads = emulator.stats().graphUsers.userHttpRequests;
      const again = await runtime.syncDataverse!();
      expect(again).toMatchObject({ detailsFilled: 0, launchesWritten: 0 });
      expect(dv.counters().requests).toBe(requests);
      expect(emulator.stats().graphUsers.userHttpRequests).toBe(reads);
    },
    120_000,
  );

  it("fills them after a Graph outage (503 past the retries) as well", async () => {
    const { emulator } = await env({ userReadAll: true });
    const dv = emulator.dataverse!;
    const runtime = t!.runtime({ AUDIT_DATAVERSE_USER_DETAILS: "true" });
    emulator.setGraphUsersOutage(1_000_000);
    await runtime.sync();
    const rows = dv.rows("admin_auditlogs");
    expect(rows.length).toBeGreaterThan(100);
    for (const row of rows) for (const c of USER_COLUMNS) expect(row[c] ?? null).toBeNull();
    expect(runtime.metrics.get("audit_dataverse_user_details_failures_total")).toBeGreaterThan(0);
    expect(await missing().count()).toBe(rows.length);

    emulator.setGraphUsersOutage(0);
    const filled = await runtime.syncDataverse!();
    const { deleted } = expectUserRows(emulator, dv.rows("admin_auditlogs"));
    expect(filled.detailsFilled).toBe(rows.length - deleted);
    expect(dv.rows("admin_auditlogs")).toHaveLength(rows.length);
    expect(await missing().count()).toBe(0);
  }, 120_000);

  it("gives up on rows still without details after the age bound, counted", async () => {
    const { emulator } = await env();
    const dv = emulator.dataverse!;
    const runtime = t!.runtime({ AUDIT_DATAVERSE_USER_DETAILS: "true" });
    await runtime.sync();
    const rows = dv.rows("admin_auditlogs");
    expect(await missing().count()).toBe(rows.length);

    // Within the bound, Graph still refusing: they wait.
    emulator.clock.set(new Date(start.getTime() + USER_DETAILS_RETRY.maxAgeMs - HOUR));
    expect(await runtime.syncDataverse!()).toMatchObject({ detailsAbandoned: 0, detailsFilled: 0 });
    expect(await missing().count()).toBe(rows.length);

    // Past it they are forgotten, even though Graph would answer now.
    emulator.setUserReadAll(true);
    emulator.clock.set(new Date(start.getTime() + USER_DETAILS_RETRY.maxAgeMs + DAY));
    const requests = dv.counters().requests;
    const result = await runtime.syncDataverse!();
    expect(result).toMatchObject({ detailsAbandoned: rows.length, detailsFilled: 0 });
    expect(runtime.metrics.get("audit_dataverse_user_details_given_up_total")).toBe(rows.length);
    expect(await missing().count()).toBe(0);
    expect(dv.counters().requests).toBe(requests);
    for (const row of dv.rows("admin_auditlogs"))
      for (const c of USER_COLUMNS) expect(row[c] ?? null).toBeNull();
  }, 120_000);
});

function withoutUserColumns(row: DataverseRow): DataverseRow {
  return Object.fromEntries(Object.entries(row).filter(([k]) => !USER_COLUMNS.includes(k)));
}

function snapshot(rows: DataverseRow[]): Map<string, DataverseRow> {
  return new Map(rows.map((r) => [String(r.admin_auditlogid), { ...r }]));
}
