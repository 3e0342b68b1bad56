import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readUsage } from "../../../sync-runtime/src/app/usage-report";
import { TABLES } from "../../../sync-runtime/contract";
import { fromRollupEntity } from "../../../sync-runtime/src/storage/rollups";
import { cli } from "./cli-child";
import { comparable, DAY, HOUR, startTestEnv, type TestEnv } from "./harness";

/** Every row of a table, keyed, without the service's own fields (ETag, Timestamp). */
async function rowsOf(t: TestEnv, table: string): Promise<Record<string, unknown>> {
  const client = t.runtime().storage.table(table as never);
  const rows: Record<string, unknown> = {};
  for await (const e of client.listEntities()) {
    const { etag: _e, timestamp: _t, ...rest } = e as Record<string, unknown>;
    rows[`${e.partitionKey}/${e.rowKey}`] = rest;
  }
  return rows;
}

/**
 * The rollups table with each day row's user ids replaced by their UPNs and the dictionary by its
 * set of UPNs: what two roll-ups must agree on (the ids depend on the order users were first seen).
 */
async function rollupsByUpn(t: TestEnv): Promise<Record<string, unknown>> {
  const dictionary = (await t.runtime().store.rollups.loadUserIds()).ids;
  const rows: Record<string, unknown> = {};
  for (const [key, row] of Object.entries(await rowsOf(t, TABLES.rollups))) {
    if (key.startsWith("~users/")) continue;
    if (key.startsWith("~")) {
      rows[key] = row;
      continue;
    }
    const { users, ...rest } = fromRollupEntity(row as Record<string, unknown>);
    const upns = [...users].map((id) => dictionary.upnOf(id));
    rows[key] = { ...rest, users: upns.sort() };
  }
  rows["~users"] = [...Array(dictionary.size).keys()].map((id) => dictionary.upnOf(id)).sort();
  return rows;
}

async function clearTable(t: TestEnv, table: string, keep?: (pk: string) => boolean) {
  const client = t.runtime().storage.table(table as never);
  for await (const e of client.listEntities()) {
    if (!keep?.(e.partitionKey!)) await client.deleteEntity(e.partitionKey!, e.rowKey!);
  }
}

/**
 * The report reads per-app, per-day rollups, not events, and still equals the emulator's ground
 * truth: after a week of passes with duplicates, after re-running every blob, after a pass killed
 * with SIGKILL mid-way, and for storage written before rollups existed (`rebuild-rollups`).
 */
describe("rollups in storage", () => {
  const start = new Date("2026-04-06T00:00:00Z");
  let t: TestEnv;
  beforeAll(async () => {
    t = await startTestEnv({
      seed: "rollups",
      startTime: start,
      pageSize: 5,
      tenant: { days: 1, futureDays: 3, apps: 6, users: 12, launchesPerDay: 150, deletes: 2 },
      content: {
        blobIntervalMinutes: 60,
        duplicateShare: 0.15,
        lateAvailabilityShare: 0,
        lateListingShare: 0,
      },
    });
  });
  afterAll(async () => t?.stop());

  const whole = () => ({
    from: new Date(start.getTime() - DAY),
    to: new Date(start.getTime() + 3 * DAY),
  });
  // Cut mid-day at both ends: the cut days must be read exactly too.
  const partial = () => ({
    from: new Date(start.getTime() - 13 * HOUR),
    to: new Date(start.getTime() + 2 * DAY + 5 * HOUR),
  });

  /** Both windows equal the ground truth; without `fromEventsAllowed` the whole days need no event. */
  async function expectTruth(fromEventsAllowed: boolean) {
    const runtime = t.runtime();
    const asOf = t.emulator.clock.now();
    for (const window of [whole(), partial()]) {
      const read = await readUsage(runtime.store, window);
      const truth = t.emulator.groundTruth(window, { asOf, daily: true });
      expect(comparable(read.report)).toEqual(comparable(truth));
    }
    if (!fromEventsAllowed) {
      expect((await readUsage(runtime.store, whole())).daysFromEvents).toEqual([]);
    }
  }

  it("a week of passes: the report comes from the rollups alone and equals the ground truth", async () => {
    const runtime = t.runtime();
    for (let now = start.getTime(); now <= start.getTime() + 3 * DAY + 6 * HOUR; now += 6 * HOUR) {
      t.emulator.clock.set(new Date(now));
      await runtime.sync();
    }
    const truth = t.emulator.groundTruth(whole(), { asOf: t.emulator.clock.now() });
    expect(truth.apps.length).toBeGreaterThan(3);
    expect(truth.apps.some((a) => a.deleted)).toBe(true);
    expect(
      runtime.metrics.get("audit_duplicate_records_total", { content_type: "Audit.General" }),
    ).toBeGreaterThan(0);
    // The partial window's cut days hold events outside it: those two are read from events.
    const cut = await readUsage(runtime.store, partial());
    expect(cut.daysFromEvents).toHaveLength(2);
    expect(
      Object.keys(await rowsOf(t, TABLES.rollups)).filter((k) => k.startsWith("~dirty")),
    ).toEqual([]);
    await expectTruth(false);
  });

  it("re-running every blob changes no rollup row", async () => {
    const before = await rowsOf(t, TABLES.rollups);
    await clearTable(t, TABLES.contentIds);
    const [result] = await t
      .runtime()
      .sync({ from: new Date(start.getTime() - DAY), to: t.emulator.clock.now() });
    expect(result!.blobsProcessed).toBeGreaterThan(20);
    expect(await rowsOf(t, TABLES.rollups)).toEqual(before);
    await expectTruth(false);
  });

  it("storage from before rollups: the report reads events, rebuild-rollups makes it read rollups", async () => {
    const before = await rollupsByUpn(t);
    await clearTable(t, TABLES.rollups);
    const legacy = await readUsage(t.runtime().store, whole());
    expect(legacy.daysFromEvents).toHaveLength(4);
    await expectTruth(true);
    const r = await cli(["rebuild-rollups"], { ...t.env });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).daysRolledUp).toBeGreaterThanOrEqual(4);
    expect(await rollupsByUpn(t)).toEqual(before);
    await expectTruth(false);
  });

  it("rollups of an older row format: the report reads events until the next pass rebuilds them", async () => {
    const runtime = t.runtime();
    const before = await rollupsByUpn(t);
    // What a version storing UPNs (format 1) left: its "built" row says so.
    await runtime.storage
      .table(TABLES.rollups)
      .upsertEntity({ partitionKey: "~meta", rowKey: "rollups", format: 1 }, "Replace");
    expect((await readUsage(runtime.store, whole())).daysFromEvents).toHaveLength(4);
    await expectTruth(true);
    await runtime.sync();
    expect(await rollupsByUpn(t)).toEqual(before);
    await expectTruth(false);
  });
});

/**
 * A CLI pass killed with SIGKILL after some blobs' events are written and before their days are
 * rolled up (that happens when the pass ends): the days stay marked, the report reads their events
 * meanwhile, and the next pass rolls them up. Real time: the child cannot share a simulated clock.
 */
describe("rollups after a pass killed mid-way", () => {
  let t: TestEnv;
  beforeAll(async () => {
    t = await startTestEnv(
      {
        seed: "rollups-kill",
        latencyMs: [10, 20],
        pageSize: 10,
        tenant: { days: 3, futureDays: 0, apps: 6, users: 10, launchesPerDay: 150, deletes: 2 },
        content: {
          blobIntervalMinutes: 30,
          duplicateShare: 0.1,
          lateAvailabilityShare: 0,
          lateListingShare: 0,
        },
      },
      {
        AUDIT_BLOB_CONCURRENCY: "2",
        AUDIT_LOG_LEVEL: "debug",
        AUDIT_FIRST_RUN_HOURS: "48",
        AUDIT_LEASE_SECONDS: "15",
      },
    );
  });
  afterAll(async () => t?.stop());

  it("converges: the resumed pass rolls up what the killed one wrote, and the report equals the truth", async () => {
    // Everything created before `to` is listed well before now (no late records here).
    const to = new Date(Date.now() - 3 * HOUR);
    const dayStart = Date.parse(to.toISOString().slice(0, 10) + "T00:00:00Z");
    const wholeDay = { from: new Date(dayStart - DAY), to: new Date(dayStart) };
    // Records just before `to` come in blobs created after it: the cut window stops short of it.
    const cut = { from: new Date(to.getTime() - 30 * HOUR), to: new Date(to.getTime() - 2 * HOUR) };
    // Killed after blobs that stored launches: the tenant's launches cluster in working hours, so
    // at some times of day the reach starts with hours of blobs that hold none (and mark nothing).
    let withLaunches = 0;
    const killed = await cli(["once", "--to", to.toISOString()], t.env, (line, kill) => {
      if (!line.includes('"blob processed"')) return;
      if ((JSON.parse(line) as { launches: number }).launches > 0 && ++withLaunches === 6)
        kill("SIGKILL");
    });
    expect(killed.signal).toBe("SIGKILL");
    const dirty = Object.keys(await rowsOf(t, TABLES.rollups)).filter((k) =>
      k.startsWith("~dirty/"),
    );
    expect(dirty.length).toBeGreaterThan(0);
    // Over the killed pass's whole reach (AUDIT_FIRST_RUN_HOURS before `to`): which of its days
    // got blobs before the kill depends on the time of day, so the window must hold them all.
    const reach = { from: new Date(to.getTime() - 48 * HOUR), to };
    const meanwhile = await readUsage(t.runtime().store, reach);
    expect(meanwhile.daysFromEvents).toEqual(expect.arrayContaining(dirty.map((k) => k.slice(7))));

    const resumed = await cli(["once", "--to", to.toISOString()], t.env);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(
      Object.keys(await rowsOf(t, TABLES.rollups)).filter((k) => k.startsWith("~dirty/")),
    ).toEqual([]);
    const store = t.runtime().store;
    const day = await readUsage(store, wholeDay);
    expect(day.daysFromEvents).toEqual([]);
    const truth = t.emulator.groundTruth(wholeDay, { daily: true });
    expect(truth.apps.length).toBeGreaterThan(2);
    expect(comparable(day.report)).toEqual(comparable(truth));
    const partial = await readUsage(store, cut);
    expect(comparable(partial.report)).toEqual(
      comparable(t.emulator.groundTruth(cut, { daily: true })),
    );
  });
});
