import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { oldestAllowed } from "../../../sync-runtime/src/domain/windows";
import { comparable, DAY, HOUR, startTestEnv, type TestEnv } from "./harness";

/**
 * The runtime stopped for 9 days: the API only serves 7, so part of the log is gone. The gap must
 * be recorded exactly (state, metric, log), and everything still available synced.
 */
describe("an outage longer than the API's 7 days", () => {
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

  it("records the exact unrecoverable interval and continues from the oldest allowed time", async () => {
    const runtime = t.runtime();
    await runtime.sync();
    const checkpoint = await runtime.store.checkpoints.get("Audit.General");
    expect(checkpoint).toEqual(start);

    t.emulator.clock.set(new Date(start.getTime() + 9 * DAY));
    const [result] = await runtime.sync();
    const now = t.emulator.clock.now();
    const oldest = oldestAllowed(now);
    expect(result.gap).toEqual({ from: start.toISOString(), to: oldest.toISOString() });
    expect(await runtime.store.gaps.list()).toEqual([
      {
        contentType: "Audit.General",
        from: start.toISOString(),
        to: oldest.toISOString(),
        detectedAt: now.toISOString(),
      },
    ]);
    expect(runtime.metrics.get("audit_gaps_total", { content_type: "Audit.General" })).toBe(1);
    expect(runtime.metrics.get("audit_gap_seconds_total", { content_type: "Audit.General" })).toBe(
      (oldest.getTime() - start.getTime()) / 1000,
    );
    const logged = t.logs
      .map((l) => JSON.parse(l))
      .find((l) => l.msg.startsWith("unrecoverable gap"));
    expect(logged).toMatchObject({
      level: "error",
      gapFrom: start.toISOString(),
      gapTo: oldest.toISOString(),
    });
    expect(await runtime.store.checkpoints.get("Audit.General")).toEqual(
      new Date(Math.floor(now.getTime() / 1000) * 1000),
    );

    // Everything the API could still serve is there (allowing the records' availability delay).
    const recoverable = {
      from: new Date(oldest.getTime() + 2 * HOUR),
      to: new Date(now.getTime() - 3 * HOUR),
    };
    expect(comparable(await runtime.report(recoverable))).toEqual(
      comparable(t.emulator.groundTruth(recoverable, { asOf: now, daily: true })),
    );
    // And the gap really lost data: the ground truth has launches inside it that we lack.
    const lost = {
      from: new Date(start.getTime() + 3 * HOUR),
      to: new Date(oldest.getTime() - 6 * HOUR),
    };
    const lostTruth = t.emulator.groundTruth(lost);
    expect(lostTruth.apps.reduce((n, a) => n + a.launches, 0)).toBeGreaterThan(0);
    expect((await runtime.report(lost)).apps).toEqual([]);
  });
});

/**
 * The runtime stopped for 3 days, well inside the API's 7: the next pass plans the whole interval
 * (in 24 h windows) and recovers all of it, with no gap recorded.
 */
describe("an outage shorter than the API's 7 days", () => {
  const start = new Date("2026-04-20T00:00:00Z");
  let t: TestEnv;
  beforeAll(async () => {
    t = await startTestEnv({
      seed: "outage-3d",
      startTime: start,
      tenant: { days: 1, futureDays: 5, apps: 5, users: 8, launchesPerDay: 40, deletes: 1 },
      content: { blobIntervalMinutes: 120, lateAvailabilityShare: 0, lateListingShare: 0 },
    });
  });
  afterAll(async () => t?.stop());

  it("recovers the whole interval and records no gap", async () => {
    const runtime = t.runtime();
    await runtime.sync();
    t.emulator.clock.set(new Date(start.getTime() + 3 * DAY));
    const [result] = await runtime.sync();
    const now = t.emulator.clock.now();
    expect(result.gap).toBeUndefined();
    expect(result.windows).toBeGreaterThanOrEqual(3);
    expect(await runtime.store.gaps.list()).toEqual([]);
    // The outage's three days, and the day before it, equal the ground truth.
    const outage = {
      from: new Date(start.getTime() - DAY + 2 * HOUR),
      to: new Date(now.getTime() - 3 * HOUR),
    };
    const truth = t.emulator.groundTruth(outage, { asOf: now, daily: true });
    expect(truth.apps.reduce((n, a) => n + a.launches, 0)).toBeGreaterThan(100);
    expect(comparable(await runtime.report(outage))).toEqual(comparable(truth));
  });
});
