import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GRAPH_SOURCE_KEY } from "../../../sync-runtime/src/app/graph-pass";
import type { RuntimeDeps } from "../../../sync-runtime/src/app/runtime";
import type { ProgressSnapshot } from "../../../sync-runtime/src/domain/progress-snapshot";
import { claimStorageAccount } from "../../helpers/scenario-services";
import { comparable, DAY, HOUR, startTestEnv, type TestEnv } from "./harness";

/** Polls of a running query in tests: the emulator moves a query on with every poll as well. */
const FAST_POLLING: RuntimeDeps = { graphPolling: { pollIntervalMs: 1 } };
const GRAPH = { AUDIT_SOURCE: "graph" };

/**
 * The same emulated tenant read through both sources, each into its own storage: the two reports
 * must be equal to each other and to the emulator's ground truth.
 */
describe("the Graph source on the same tenant as the Management API", () => {
  const start = new Date("2026-06-10T00:00:00Z");
  const window = { from: new Date(start.getTime() - 3 * DAY), to: start };
  let t: TestEnv;
  /** The Graph runtime's own storage: another account. */
  let second: string;
  beforeAll(async () => {
    [t, second] = await Promise.all([
      startTestEnv({
        seed: "graph-equal",
        startTime: start,
        tenant: { days: 3, futureDays: 0, apps: 8, users: 15, launchesPerDay: 120, deletes: 2 },
        // Hourly content blobs for the Management API's side: its report is what is compared.
        content: { blobIntervalMinutes: 60 },
        // A limit below a day's records: windows must be split to be read whole.
        graph: { recordCountLimit: 60, pageSize: 25 },
      }),
      claimStorageAccount(),
    ]);
    // Every record is available a day later (the worst latency is 12 hours).
    t.emulator.clock.set(new Date(start.getTime() + DAY));
  });
  afterAll(async () => t?.stop());

  it("reports the same usage through Graph as through the Management API, equal to the truth", async () => {
    const managementApi = t.runtime();
    // Its window is on contentCreated: blobs created after the window still hold its records.
    const [mgmt] = await managementApi.sync({ from: window.from });
    expect(mgmt.launches).toBeGreaterThan(0);

    const graph = t.runtime({ ...GRAPH, AUDIT_STORAGE_CONNECTION_STRING: second }, FAST_POLLING);
    let progress: ProgressSnapshot | undefined;
    const result = await graph.syncGraph({
      from: window.from,
      to: window.to,
      onProgress: (p) => (progress = p),
    });
    expect(result.splits).toBeGreaterThan(0);
    // The progress line counts days, not the queries of their split halves.
    expect(progress?.days).toEqual({ queried: 3, running: 0, stored: 3 });
    expect(result.pages).toBeGreaterThan(result.queries);
    // Graph returns only the two operations: nothing is read that is not counted or unparsed.
    expect(result.records).toBe(result.launches + result.deletes + result.unparsed);

    const truth = comparable(t.emulator.groundTruth(window, { daily: true }));
    const viaGraph = comparable(await graph.report(window));
    expect(viaGraph).toEqual(truth);
    expect(comparable(await managementApi.report(window))).toEqual(viaGraph);
    expect(graph.metrics.get("audit_graph_query_splits_total")).toBe(result.splits);
    // And its own checkpoint, not the Management API's.
    expect(await graph.store.checkpoints.get(GRAPH_SOURCE_KEY)).toEqual(window.to);
    expect(await graph.store.checkpoints.get("Audit.General")).toBeUndefined();
  });

  it("does not query again the days a pass stored after all their records were available", async () => {
    const graph = t.runtime({ ...GRAPH, AUDIT_STORAGE_CONNECTION_STRING: second }, FAST_POLLING);
    const submitted = t.emulator.stats().graph.queriesSubmitted;
    const again = await graph.syncGraph({ from: window.from, to: window.to });
    expect(again.skipped).toBe(3);
    expect(again.submissions).toBe(0);
    expect(t.emulator.stats().graph.queriesSubmitted).toBe(submitted);
    expect(comparable(await graph.report(window))).toEqual(
      comparable(t.emulator.groundTruth(window, { daily: true })),
    );
  });
});

describe("Graph passes every 6 hours, with records that arrive late", () => {
  const start = new Date("2026-09-01T00:00:00Z");
  let t: TestEnv;
  beforeAll(async () => {
    t = await startTestEnv({
      seed: "graph-late",
      startTime: start,
      tenant: { days: 1, futureDays: 3, apps: 6, users: 10, launchesPerDay: 150, deletes: 2 },
      // A tenth of the records arrive up to 12 hours late. (Graph reads no content blobs: hourly
      // ones are fewer to plan.)
      content: { lateAvailabilityShare: 0.1, maxAvailabilityHours: 12, blobIntervalMinutes: 60 },
    });
  });
  afterAll(async () => t?.stop());

  it("counts every record, late ones included, once", async () => {
    const graph = t.runtime(GRAPH, FAST_POLLING);
    for (let pass = 0; pass < 12; pass++) {
      await graph.syncGraph();
      t.emulator.clock.advance(6 * HOUR);
    }
    // Three days later: everything created in the first two days has arrived and been queried.
    const window = { from: start, to: new Date(start.getTime() + 2 * DAY) };
    const truth = comparable(t.emulator.groundTruth(window, { daily: true }));
    expect(truth.apps.reduce((n, a) => n + a.launches, 0)).toBeGreaterThan(200);
    expect(comparable(await graph.report(window))).toEqual(truth);
  });
});

describe("a 30-day backfill through Graph", () => {
  const start = new Date("2026-07-01T00:00:00Z");
  let t: TestEnv;
  beforeAll(async () => {
    t = await startTestEnv({
      seed: "graph-30",
      startTime: start,
      tenant: { days: 31, futureDays: 0, apps: 6, users: 10, launchesPerDay: 40, deletes: 2 },
      // Graph reads no content blobs: hourly ones are fewer to plan.
      content: { blobIntervalMinutes: 60 },
    });
    t.emulator.clock.set(new Date(start.getTime() + DAY));
  });
  afterAll(async () => t?.stop());

  it("equals the ground truth over 30 days, where the Management API reaches back 7", async () => {
    const window = { from: new Date(start.getTime() - 30 * DAY), to: start };
    const graph = t.runtime(GRAPH, FAST_POLLING);
    const result = await graph.syncGraph({ from: window.from, to: window.to });
    expect(result.windows).toBe(30);
    expect(comparable(await graph.report(window))).toEqual(
      comparable(t.emulator.groundTruth(window, { daily: true })),
    );
    expect(t.emulator.stats().graph.queriesSubmitted).toBe(30);
  });
});

describe("the tenant's Graph query limits", () => {
  const start = new Date("2026-08-01T00:00:00Z");
  let t: TestEnv;
  beforeAll(async () => {
    t = await startTestEnv({
      seed: "graph-limits",
      startTime: start,
      tenant: { days: 4, futureDays: 0, apps: 4, users: 6, launchesPerDay: 30, deletes: 1 },
      graph: { queriesPer24Hours: 2, failQueries: 1 },
    });
    t.emulator.clock.set(new Date(start.getTime() + DAY));
  });
  afterAll(async () => t?.stop());

  it("stops at the 24-hour submission limit with the checkpoint kept, and resumes a day later", async () => {
    const window = { from: new Date(start.getTime() - 3 * DAY), to: start };
    const graph = t.runtime(GRAPH, {
      ...FAST_POLLING,
      retry: { maxRetries: 1, minDelayMs: 1, maxDelayMs: 5, maxRetryAfterMs: 10 },
    });
    // Two queries are taken, of which the first fails; the third submission, and the failed
    // one's second, are refused for the rest of the 24 hours.
    await expect(graph.syncGraph({ from: window.from, to: window.to })).rejects.toThrow(
      /submissions per 24 hours.*checkpoint kept/s,
    );
    const kept = await graph.store.checkpoints.get(GRAPH_SOURCE_KEY);
    expect(kept === undefined || kept < window.to).toBe(true);
    expect(t.emulator.stats().graph.queriesSubmitted).toBe(2);
    expect(t.emulator.stats().graph.queriesRefused).toBeGreaterThan(0);

    // Each day the allocation is back: the same backfill run again queries the days not stored
    // yet (the first day's query may have been the one that failed, so there may be no
    // checkpoint to resume from), until the window is complete.
    let checkpoint: Date | undefined;
    for (let day = 0; day < 4 && checkpoint?.getTime() !== window.to.getTime(); day++) {
      t.emulator.clock.advance(DAY);
      await graph.syncGraph(window).catch((err: Error) => {
        expect(err.message).toMatch(/submissions per 24 hours.*checkpoint kept/s);
      });
      checkpoint = await graph.store.checkpoints.get(GRAPH_SOURCE_KEY);
    }
    expect(checkpoint).toEqual(window.to);
    expect(comparable(await graph.report(window))).toEqual(
      comparable(t.emulator.groundTruth(window, { daily: true })),
    );
  });
});

/**
 * A 9-day outage loses 2 days to the Management API (it keeps 7); Graph keeps 180, so the gap it
 * recorded can be read again from Graph and the report is whole.
 */
describe("filling a Management API gap from Graph", () => {
  const start = new Date("2026-04-06T00:00:00Z");
  let t: TestEnv;
  beforeAll(async () => {
    t = await startTestEnv({
      seed: "gap",
      startTime: start,
      tenant: { days: 1, futureDays: 10, apps: 5, users: 8, launchesPerDay: 40, deletes: 1 },
      content: { blobIntervalMinutes: 120, lateAvailabilityShare: 0, lateListingShare: 0 },
    });
  });
  afterAll(async () => t?.stop());

  it("recovers the lost interval exactly and marks the gap filled", async () => {
    const runtime = t.runtime({}, FAST_POLLING);
    await runtime.sync();
    t.emulator.clock.set(new Date(start.getTime() + 9 * DAY));
    const [result] = await runtime.sync();
    expect(result.gap).toBeDefined();
    const lost = {
      from: new Date(start.getTime() + 3 * HOUR),
      to: new Date(Date.parse(result.gap!.to) - 6 * HOUR),
    };
    const truth = comparable(t.emulator.groundTruth(lost, { daily: true }));
    expect(truth.apps.length).toBeGreaterThan(0);
    expect((await runtime.report(lost)).apps).toEqual([]);

    const filled = await runtime.fillGaps();
    expect(filled.filled).toHaveLength(1);
    expect(comparable(await runtime.report(lost))).toEqual(truth);
    const [gap] = await runtime.store.gaps.list();
    expect(gap).toMatchObject({ from: result.gap!.from, filledBy: GRAPH_SOURCE_KEY });
    // The Management API's checkpoint did not move back or forth; Graph's was never written.
    expect(await runtime.store.checkpoints.get(GRAPH_SOURCE_KEY)).toBeUndefined();
    // A second fill has nothing left to do.
    expect((await runtime.fillGaps()).filled).toEqual([]);
    // And the whole recoverable week is equal to the truth as well.
    const week = {
      from: new Date(start.getTime() + 3 * HOUR),
      to: new Date(t.emulator.clock.now().getTime() - 3 * HOUR),
    };
    expect(comparable(await runtime.report(week))).toEqual(
      comparable(t.emulator.groundTruth(week, { asOf: t.emulator.clock.now(), daily: true })),
    );
  });
});

describe("a Graph @odata.nextLink on another host", () => {
  it("is refused before the token is sent there, and the checkpoint stays", async () => {
    const start = new Date("2026-05-01T00:00:00Z");
    const t = await startTestEnv({
      seed: "graph-foreign",
      startTime: start,
      tenant: { days: 1, futureDays: 0, apps: 3, users: 4, launchesPerDay: 60 },
      graph: { pageSize: 5, foreignNextLink: true },
    });
    try {
      t.emulator.clock.set(new Date(start.getTime() + DAY));
      const graph = t.runtime(GRAPH, FAST_POLLING);
      await expect(
        graph.syncGraph({ from: new Date(start.getTime() - DAY), to: start }),
      ).rejects.toThrow(/@odata\.nextLink that is not on https:\/\/127\.0\.0\.1.*no token is sent/);
      expect(t.emulator.stats().graph.recordPagesServed).toBe(1);
      expect(t.emulator.stats().graph.foreignHostRequests).toBe(0);
      expect(await graph.store.checkpoints.get(GRAPH_SOURCE_KEY)).toBeUndefined();
    } finally {
      await t.stop();
    }
  });
});

describe("Graph refusals the operator must act on", () => {
  it("explains a missing AuditLogsQuery.Read.All and GCC High/DoD's missing segment", async () => {
    const t = await startTestEnv(
      {
        seed: "graph-refusals",
        startTime: new Date("2026-05-01T00:00:00Z"),
        consentGranted: false,
      },
      {},
      { storage: true },
    );
    try {
      const graph = t.runtime(GRAPH, FAST_POLLING);
      await expect(graph.syncGraph()).rejects.toThrow(/AuditLogsQuery\.Read\.All/);
    } finally {
      await t.stop();
    }
    const gov = await startTestEnv({
      seed: "graph-gov",
      startTime: new Date("2026-05-01T00:00:00Z"),
      graph: { available: false },
    });
    try {
      await expect(gov.runtime(GRAPH, FAST_POLLING).syncGraph()).rejects.toThrow(
        /offered in the global service.*AUDIT_SOURCE=managementApi/s,
      );
    } finally {
      await gov.stop();
    }
  });
});
