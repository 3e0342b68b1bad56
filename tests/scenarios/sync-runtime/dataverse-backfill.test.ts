import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DataverseProgress } from "../../../sync-runtime/src/app/dataverse-wiring";
import { DAY, startTestEnv, type TestEnv } from "./harness";

/**
 * The sink switched on over a week of history already in Azure Storage: it back-fills every
 * stored launch. Killed once while putting days into the outbox and once while writing them to
 * Dataverse, the next pass resumes where each stopped (not from the start) and the CoE table ends
 * with exactly one row per launch, each sent once.
 */
describe("the Dataverse sink switched on over stored history", () => {
  // A Monday: the week before it holds five working days.
  const start = new Date("2026-03-09T00:00:00Z");
  let t: TestEnv;

  beforeAll(async () => {
    t = await startTestEnv(
      {
        seed: "coe-backfill",
        startTime: start,
        tenant: { days: 7, apps: 8, users: 40, launchesPerDay: 900, deletes: 2 },
        // Hourly content blobs (the emulator's default is one per 10 minutes): this test is about
        // the Dataverse rows, and fewer blobs make the passes that fill storage cheaper.
        content: { blobIntervalMinutes: 60 },
        dataverse: { missingAppEvery: 0 },
      },
      { AUDIT_FIRST_RUN_HOURS: "168" },
    );
  });
  afterAll(async () => t?.stop());

  it("fills a week of history, resuming after a kill in each phase, one row per launch", async () => {
    const dv = t.emulator.dataverse!;
    // A week synced with the sink off.
    await t.runtime({ AUDIT_DATAVERSE_URL: "" }).sync();
    const window = { from: new Date(start.getTime() - 7 * DAY), to: start };
    const truth = t.emulator.groundTruth(window, { asOf: t.emulator.clock.now() });
    const launches = truth.apps.reduce((n, a) => n + a.launches, 0);
    expect(launches).toBeGreaterThan(4000);
    expect(dv.rows("admin_auditlogs")).toHaveLength(0);

    // Switched on; the back-fill is killed after three days went into the outbox.
    const progress: DataverseProgress[] = [];
    const runtime = t.runtime();
    const kill = new AbortController();
    await expect(
      runtime.dataverse!.backfill({
        signal: kill.signal,
        onDataverseProgress: (p) => {
          progress.push(p);
          if (p.phase === "backfill" && p.daysDone === 3) kill.abort(new Error("killed"));
        },
      }),
    ).rejects.toThrow("killed");
    const days = progress.filter((p) => p.phase === "backfill");
    expect(days.map((p) => p.daysDone)).toEqual([1, 2, 3]);
    expect(dv.rows("admin_auditlogs")).toHaveLength(0);

    // The next run resumes at the fourth day, then is killed after the first round of writes.
    progress.length = 0;
    const again = t.runtime();
    const kill2 = new AbortController();
    await expect(
      again.dataverse!.backfill({
        signal: kill2.signal,
        onDataverseProgress: (p) => {
          progress.push(p);
          if (p.phase === "drain" && p.result.launchesWritten > 0)
            kill2.abort(new Error("killed again"));
        },
      }),
    ).rejects.toThrow("killed again");
    const resumedDays = progress.flatMap((p) => (p.phase === "backfill" ? [p.day] : []));
    expect(resumedDays[0]).toBe(nextDay(days[2].phase === "backfill" ? days[2].day : ""));
    const firstRound = dv.rows("admin_auditlogs").length;
    expect(firstRound).toBeGreaterThan(0);
    expect(firstRound).toBeLessThan(launches);

    // A pass finishes it: every launch once, nothing written twice, the outbox empty.
    const last = t.runtime();
    await last.sync();
    const rows = dv.rows("admin_auditlogs");
    expect(new Set(rows.map((r) => r.admin_auditlogid)).size).toBe(rows.length);
    expect(rows).toHaveLength(launches);
    expect(last.metrics.get("audit_dataverse_pending")).toBe(0);
    // Each row was sent once: the operations are the rows plus a few reads and app updates per
    // round (a restart from scratch would have sent the first round's rows again).
    expect(dv.counters().operations).toBeLessThan(launches + 200);
    expect(t.logs.some((l) => l.includes('"resumed":true'))).toBe(true);
  }, 300_000);
});

function nextDay(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + DAY).toISOString().slice(0, 10);
}
