/**
 * The Graph source at scale (issue 22): many audit log queries in flight within the tenant's
 * allocation, on the emulator's simulated clock (queries take minutes there, the test seconds).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SimulatedSleep, type RunningEmulator } from "../../../emulator/index";
import { TABLES } from "../../../sync-runtime/contract";
import { GRAPH_SOURCE_KEY } from "../../../sync-runtime/src/app/graph-pass";
import type { RuntimeDeps } from "../../../sync-runtime/src/app/runtime";
import type { ProgressSnapshot } from "../../../sync-runtime/src/domain/progress-snapshot";
import { GraphQueryLog } from "../../../sync-runtime/src/storage/graph-queries";
import { comparable, DAY, HOUR, startTestEnv, type TestEnv } from "./harness";

/**
 * The pass's sleeps on the emulator's clock: the clock moves to the next poll only once every
 * query the pass has in flight waits for one, so simulated time is what the queries take.
 */
function simulatedTime(emu: RunningEmulator): {
  deps: RuntimeDeps;
  onProgress: (s: ProgressSnapshot) => void;
} {
  let running = 0;
  const sim = new SimulatedSleep(emu.clock, () => running);
  return {
    deps: { graphPolling: { sleep: sim.sleep, pollIntervalMs: 60_000 } },
    onProgress: (s) => {
      running = s.days?.running ?? 0;
      sim.poke();
    },
  };
}

/** A small tenant: few records a day, so that 180 days of them are stored in seconds. */
const TENANT = { futureDays: 0, apps: 4, users: 5, launchesPerDay: 3, deletes: 1 };
/** Graph reads no content blobs: hourly ones (not every 10 minutes) are fewer for the emulator to plan. */
const CONTENT = { blobIntervalMinutes: 60 };
/** Queries of 1-3 simulated minutes; polls do not move them on, only the clock does. */
const QUERIES = { queryRunMs: 2 * 60_000, pollProgressMs: 0 };

describe("a 180-day backfill through Graph", () => {
  const start = new Date("2026-10-01T00:00:00Z");
  let t: TestEnv;
  beforeAll(async () => {
    t = await startTestEnv({
      seed: "graph-180",
      startTime: start,
      tenant: { ...TENANT, days: 181 },
      content: CONTENT,
      graph: QUERIES,
    });
    // Every record of the last day is available (at most 12 hours late).
    t.emulator.clock.set(new Date(start.getTime() + 13 * HOUR));
  });
  afterAll(async () => t?.stop());

  it("equals the ground truth with 8 queries in flight, each day submitted once", async () => {
    const sim = simulatedTime(t.emulator);
    const graph = t.runtime(
      {
        AUDIT_SOURCE: "graph",
        AUDIT_GRAPH_QUERY_CONCURRENCY: "8",
        AUDIT_GRAPH_DAILY_SUBMISSIONS: "200",
      },
      sim.deps,
    );
    const began = t.emulator.clock.now().getTime();
    // Older than the retention: the pass starts at the oldest time Graph still serves.
    const result = await graph.syncGraph({
      from: new Date(start.getTime() - 180 * DAY),
      to: start,
      onProgress: sim.onProgress,
    });
    expect(result.windows).toBe(180);
    const window = { from: new Date(result.from), to: start };
    const truth = comparable(t.emulator.groundTruth(window, { daily: true }));
    expect(truth.daily.length).toBeGreaterThan(150);
    expect(comparable(await graph.report(window))).toEqual(truth);
    expect(await graph.store.checkpoints.get(GRAPH_SOURCE_KEY)).toEqual(start);

    const stats = t.emulator.stats().graph;
    expect(stats.queriesSubmitted).toBe(180);
    expect(new Set(t.emulator.graphSubmissions().map((q) => q.filterStartDateTime)).size).toBe(180);
    expect(stats.peakQueriesInFlight).toBe(8);
    expect(stats.queriesRefused).toBe(0);
    // Eight at a time: near ceil(180 / 8) query times, where one at a time takes 180 of them.
    const meanMs = stats.queryRunMsTotal / stats.queriesSubmitted;
    const elapsedMs = t.emulator.clock.now().getTime() - began;
    expect(elapsedMs).toBeLessThan(1.5 * Math.ceil(180 / 8) * meanMs);
  });
});

describe("a Graph backfill killed midway", () => {
  const start = new Date("2026-11-01T00:00:00Z");
  const window = { from: new Date(start.getTime() - 30 * DAY), to: start };
  const env = {
    AUDIT_SOURCE: "graph",
    AUDIT_GRAPH_QUERY_CONCURRENCY: "5",
    AUDIT_GRAPH_DAILY_SUBMISSIONS: "200",
  };
  let t: TestEnv;
  beforeAll(async () => {
    t = await startTestEnv({
      seed: "graph-kill",
      startTime: start,
      tenant: { ...TENANT, days: 31 },
      content: CONTENT,
      graph: QUERIES,
    });
    t.emulator.clock.set(new Date(start.getTime() + 13 * HOUR));
  });
  afterAll(async () => t?.stop());

  it("resumes without submitting a finished day again, waiting for the queries it left running", async () => {
    const sim = simulatedTime(t.emulator);
    const first = t.runtime(env, sim.deps);
    const kill = new AbortController();
    await expect(
      first.syncGraph({
        ...window,
        signal: kill.signal,
        onProgress: (s) => {
          sim.onProgress(s);
          if ((s.days?.stored ?? 0) >= 10) kill.abort(new Error("killed"));
        },
      }),
    ).rejects.toThrow("killed");
    const submittedBeforeKill = t.emulator.graphSubmissions().length;
    const ledger = new GraphQueryLog(first.storage.table(TABLES.graphQueries));
    const marks = await ledger.days(window.from, window.to);
    const finished = marks.filter((m) => m.stored).map((m) => m.from.toISOString());
    expect(finished.length).toBeGreaterThanOrEqual(10);
    expect(finished.length).toBeLessThan(30);
    expect(marks.some((m) => !m.stored)).toBe(true);

    // A new runtime, as after a restart, runs the same backfill again.
    const again = simulatedTime(t.emulator);
    const second = t.runtime(env, again.deps);
    const result = await second.syncGraph({ ...window, onProgress: again.onProgress });
    const resubmitted = t.emulator
      .graphSubmissions()
      .slice(submittedBeforeKill)
      .filter((q) => finished.includes(q.filterStartDateTime ?? ""));
    expect(resubmitted).toEqual([]);
    expect(result.skipped).toBe(finished.length);
    // The queries running when it stopped were read, not submitted again.
    expect(result.reattached).toBeGreaterThan(0);
    expect(result.submissions + result.reattached + result.skipped).toBe(30);
    expect(await second.store.checkpoints.get(GRAPH_SOURCE_KEY)).toEqual(window.to);
    expect(comparable(await second.report(window))).toEqual(
      comparable(t.emulator.groundTruth(window, { daily: true })),
    );
  });
});

describe("a Graph backfill on a small allocation", () => {
  const start = new Date("2026-12-01T00:00:00Z");
  const window = { from: new Date(start.getTime() - 16 * DAY), to: start };
  const env = {
    AUDIT_SOURCE: "graph",
    AUDIT_GRAPH_QUERY_CONCURRENCY: "6",
    AUDIT_GRAPH_DAILY_SUBMISSIONS: "10",
  };
  let t: TestEnv;
  beforeAll(async () => {
    t = await startTestEnv({
      seed: "graph-budget",
      startTime: start,
      tenant: { ...TENANT, days: 17 },
      content: CONTENT,
      // Fewer queued or running queries than the runtime asks for, and few submissions a day.
      graph: { ...QUERIES, queriesPer24Hours: 12, maxConcurrentQueries: 3 },
    });
    t.emulator.clock.set(new Date(start.getTime() + 13 * HOUR));
  });
  afterAll(async () => t?.stop());

  it("never submits more than its budget in 24 hours, across restarts, and completes day by day", async () => {
    const pass = async () => {
      const sim = simulatedTime(t.emulator);
      const runtime = t.runtime(env, sim.deps);
      const outcome = await runtime
        .syncGraph({ ...window, onProgress: sim.onProgress })
        .then(() => "done")
        .catch((err: Error) => err.message);
      return { runtime, outcome };
    };
    const budgetSpent = /AUDIT_GRAPH_DAILY_SUBMISSIONS=10.*checkpoint kept/s;

    const { runtime, outcome } = await pass();
    expect(outcome).toMatch(budgetSpent);
    expect(t.emulator.stats().graph.queriesSubmitted).toBe(10);
    // Graph's 3 queued or running queries refused some submissions: fewer in flight, no harm.
    expect(runtime.metrics.get("audit_graph_submissions_refused_total")).toBeGreaterThan(0);
    expect(t.emulator.stats().graph.peakQueriesInFlight).toBe(3);
    // A restart within the 24 hours remembers what was spent.
    expect((await pass()).outcome).toMatch(budgetSpent);
    expect(t.emulator.stats().graph.queriesSubmitted).toBe(10);

    let last = "";
    for (let day = 0; day < 3 && last !== "done"; day++) {
      t.emulator.clock.advance(DAY);
      last = (await pass()).outcome;
    }
    expect(last).toBe("done");
    expect(comparable(await runtime.report(window))).toEqual(
      comparable(t.emulator.groundTruth(window, { daily: true })),
    );
    expect(t.emulator.stats().graph.queriesRefusedPer24Hours).toBe(0);
    const times = t.emulator.graphSubmissions().map((q) => Date.parse(q.submittedAt));
    const mostIn24Hours = Math.max(
      ...times.map((at) => times.filter((s) => s > at - DAY && s <= at).length),
    );
    expect(mostIn24Hours).toBe(10);
  });
});
