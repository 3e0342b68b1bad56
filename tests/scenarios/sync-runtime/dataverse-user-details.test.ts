import { afterEach, describe, expect, it } from "vitest";
import type { DataverseRow, EmulatorOptions } from "../../../emulator/index";
import { USER_CACHE } from "../../../sync-runtime/src/app/dataverse-sink";
import { HOUR, startTestEnv, type TestEnv } from "./harness";
import { expectUserRows, start, tenant, USER_COLUMNS } from "./user-details-tenant";

/**
 * AUDIT_DATAVERSE_USER_DETAILS: off, the sink never calls Graph for users and the user columns
 * stay empty; on, each audit row carries its user's details as Graph has them (read in batches
 * of 20, cached across passes), a deleted user's row none; Graph refusing (no User.Read.All)
 * leaves the details empty and is counted, never the rows.
 */
describe("the Dataverse sink's user details", () => {
  let t: TestEnv | undefined;
  afterEach(async () => {
    await t?.stop();
    t = undefined;
  });
  const env = async (options: Partial<EmulatorOptions> = {}) =>
    (t = await startTestEnv({
      seed: "user-details",
      startTime: start,
      tenant,
      // Hourly content blobs (the emulator's default is one per 10 minutes): this test is about
      // the Dataverse rows, and fewer blobs make the passes that fill storage cheaper.
      content: { blobIntervalMinutes: 60 },
      dataverse: {},
      ...options,
    }));

  it("fills the rows' user details from Graph in batches of 20, cached across passes", async () => {
    const { emulator } = await env();
    const dv = emulator.dataverse!;
    const runtime = t!.runtime({ AUDIT_DATAVERSE_USER_DETAILS: "true" });

    await runtime.sync();
    const rows1 = dv.rows("admin_auditlogs");
    expect(rows1.length).toBeGreaterThan(100);
    const users1 = new Set(rows1.map((r) => String(r.admin_userid).toLowerCase()));
    const profiles = expectUserRows(emulator, rows1);
    // The tenant's guests and deleted users both launched apps: both cases are covered.
    expect(profiles.guests).toBeGreaterThan(0);
    expect(profiles.deleted).toBeGreaterThan(0);
    const batches1 = emulator.stats().graphUsers.userBatches;
    expect(batches1).toBeGreaterThan(0);
    expect(batches1).toBeLessThanOrEqual(Math.ceil(users1.size / 20));
    expect(emulator.stats().graphUsers.userReads).toBe(users1.size);

    // Half a day later: new launches by the same users, no user read at all.
    emulator.clock.set(new Date(start.getTime() + 12 * HOUR));
    const requests1 = emulator.stats().graphUsers.userHttpRequests;
    await runtime.sync();
    const rows2 = dv.rows("admin_auditlogs");
    expect(rows2.length).toBeGreaterThan(rows1.length);
    expect(rows2.filter((r) => !users1.has(String(r.admin_userid).toLowerCase()))).toEqual([]);
    expectUserRows(emulator, rows2);
    expect(emulator.stats().graphUsers.userHttpRequests).toBe(requests1);
    expect(runtime.metrics.get("audit_dataverse_user_details_failures_total")).toBe(0);
  }, 120_000);

  it("reads users again once the cache's size or age bound dropped them", async () => {
    const { emulator } = await env();
    const dv = emulator.dataverse!;
    const runtime = t!.runtime({ AUDIT_DATAVERSE_USER_DETAILS: "true" });
    const reads = () => emulator.stats().graphUsers.userReads;
    const usersOf = (rows: DataverseRow[]) =>
      new Set(rows.map((r) => String(r.admin_userid).toLowerCase()));
    // The bounds are lowered in this process for the test (the runtime runs in it).
    const saved = { ...USER_CACHE };
    try {
      USER_CACHE.maxUsers = 10;
      await runtime.sync();
      const rows1 = dv.rows("admin_auditlogs");
      expect(reads()).toBe(usersOf(rows1).size);
      expect(usersOf(rows1).size).toBeGreaterThan(20);

      // Only the 10 users read last were kept: the others of the next pass are read again.
      emulator.clock.set(new Date(start.getTime() + 12 * HOUR));
      const before2 = reads();
      await runtime.sync();
      const read1 = new Set(rows1.map((r) => r.admin_auditlogid));
      const new2 = dv.rows("admin_auditlogs").filter((r) => !read1.has(r.admin_auditlogid));
      expect(reads() - before2).toBeGreaterThanOrEqual(usersOf(new2).size - 10);
      expect(reads() - before2).toBeGreaterThan(0);
      expectUserRows(emulator, dv.rows("admin_auditlogs"));

      // Past the age every user is read again.
      USER_CACHE.maxUsers = saved.maxUsers;
      USER_CACHE.ageMs = 0;
      const seen = new Set(dv.rows("admin_auditlogs").map((r) => r.admin_auditlogid));
      emulator.clock.set(new Date(start.getTime() + 24 * HOUR));
      const before3 = reads();
      await runtime.sync();
      const new3 = dv.rows("admin_auditlogs").filter((r) => !seen.has(r.admin_auditlogid));
      expect(new3.length).toBeGreaterThan(0);
      expect(reads() - before3).toBe(usersOf(new3).size);
    } finally {
      Object.assign(USER_CACHE, saved);
    }
  }, 120_000);

  it("reads users at AUDIT_GRAPH_USERS_ENDPOINT, apart from the audit query's Graph (GCC High, DoD)", async () => {
    const { emulator } = await env();
    // As in GCC High: the audit query's Graph is not where users are (nothing listens here).
    const runtime = t!.runtime({
      AUDIT_DATAVERSE_USER_DETAILS: "true",
      AUDIT_GRAPH_ENDPOINT: "https://127.0.0.1:9",
      AUDIT_GRAPH_USERS_ENDPOINT: emulator.graphUrl,
    });
    await runtime.sync();
    const rows = emulator.dataverse!.rows("admin_auditlogs");
    expect(rows.length).toBeGreaterThan(100);
    expectUserRows(emulator, rows);
    expect(runtime.metrics.get("audit_dataverse_user_details_failures_total")).toBe(0);
  }, 120_000);

  it("off (the default): no Graph user call, the user columns stay empty", async () => {
    const { emulator } = await env();
    const runtime = t!.runtime();
    await runtime.sync();
    const rows = emulator.dataverse!.rows("admin_auditlogs");
    expect(rows.length).toBeGreaterThan(100);
    for (const row of rows) for (const c of USER_COLUMNS) expect(row[c] ?? null).toBeNull();
    expect(emulator.stats().graphUsers.userHttpRequests).toBe(0);
  }, 120_000);

  it("Graph refusing (no User.Read.All): the rows are written without details, the failure counted", async () => {
    const { emulator } = await env({ graph: { userReadAll: false } });
    const runtime = t!.runtime({ AUDIT_DATAVERSE_USER_DETAILS: "true" });
    await runtime.sync();
    const rows = emulator.dataverse!.rows("admin_auditlogs");
    expect(rows.length).toBeGreaterThan(100);
    for (const row of rows) for (const c of USER_COLUMNS) expect(row[c] ?? null).toBeNull();
    expect(emulator.stats().graphUsers.userReads).toBeGreaterThan(0);
    expect(runtime.metrics.get("audit_dataverse_user_details_failures_total")).toBeGreaterThan(0);
    expect(runtime.metrics.get("audit_dataverse_failures_total")).toBe(0);
    expect(t!.logs.some((l) => /User\.Read\.All/.test(l) && /"level":"warn"/.test(l))).toBe(true);
  }, 120_000);
});
