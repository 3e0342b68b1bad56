import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GRAPH_SOURCE_KEY } from "../../../sync-runtime/src/app/graph-pass";
import { DAY, startTestEnv, type TestEnv } from "./harness";

/**
 * A first pass reads what the source still holds. The Management API's 7 days are proven in
 * federated-auth.test.ts (a first pass on empty storage, compared with the ground truth); here
 * the Graph source, whose first pass goes back AUDIT_GRAPH_BACKFILL_DAYS (default 30).
 */
describe("the Graph source's first pass", () => {
  const start = new Date("2026-06-10T00:00:00Z");
  let t: TestEnv;
  beforeAll(async () => {
    t = await startTestEnv({
      seed: "graph-first",
      startTime: start,
      tenant: { days: 4, futureDays: 0, apps: 4, users: 6, launchesPerDay: 40, deletes: 0 },
    });
    // Every record is available a day later (the worst latency is 12 hours).
    t.emulator.clock.set(new Date(start.getTime() + DAY));
  });
  afterAll(async () => t?.stop());

  it("starts AUDIT_GRAPH_BACKFILL_DAYS back when there is no Graph checkpoint, and reads them all", async () => {
    const runtime = t.runtime(
      { AUDIT_SOURCE: "graph", AUDIT_GRAPH_BACKFILL_DAYS: "3" },
      { graphPolling: { pollIntervalMs: 1 } },
    );
    const now = t.emulator.clock.now();
    const result = await runtime.syncGraph();
    expect(result.from).toBe(new Date(now.getTime() - 3 * DAY).toISOString());
    expect(result.to).toBe(now.toISOString());
    expect(result.windows).toBe(3);
    expect(await runtime.store.checkpoints.get(GRAPH_SOURCE_KEY)).toEqual(now);
    // Every launch of those 3 days was read (the 4th day back is outside the backfill).
    const window = { from: new Date(result.from), to: start };
    const report = await runtime.report(window);
    const truth = t.emulator.groundTruth(window);
    expect(truth.apps.reduce((n, a) => n + a.launches, 0)).toBeGreaterThan(40);
    expect(report.apps).toEqual(truth.apps);
  });
});
