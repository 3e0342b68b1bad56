import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import type { ContentTypeResult } from "../../../sync-runtime/src/app/pass";
import { comparable, DAY, HOUR, startTestEnv, type TestEnv } from "./harness";

/**
 * A simulated week of a small synthetic tenant, synced in passes every 6 hours of emulator time,
 * with every realism knob on: duplicates across blobs, late records and late-listed blobs, paging,
 * both schemas, deletes, unparsed records, 5xx, connection resets, truncated bodies and throttle
 * storms. The report must equal the emulator's ground truth.
 */
describe("a simulated week synced in passes", () => {
  const start = new Date("2026-03-02T00:00:00Z");
  let t: TestEnv;

  beforeAll(async () => {
    t = await startTestEnv({
      seed: "week",
      startTime: start,
      pageSize: 4,
      tenant: {
        days: 1,
        futureDays: 7,
        apps: 8,
        environments: 2,
        users: 15,
        launchesPerDay: 120,
        deletes: 2,
        legacySchemaShare: 0.35,
        unparsedShare: 0.03,
      },
      content: {
        blobIntervalMinutes: 60,
        duplicateShare: 0.1,
        lateListingShare: 0.1,
        lateAvailabilityShare: 0.05,
      },
      faults: {
        serverErrorRate: 0.03,
        resetRate: 0.02,
        truncateRate: 0.03,
        throttleStormRate: 0.004,
        throttleStormMs: 300,
      },
    });
  });
  afterAll(async () => t?.stop());

  it("gives a report equal to the ground truth, under faults", async () => {
    const runtime = t.runtime();
    const results: ContentTypeResult[] = [];
    // A pass keeps many requests in flight on its signal; none of them may look like a leak.
    const warnings: string[] = [];
    const onWarning = (w: Error) => void warnings.push(`${w.name}: ${w.message}`);
    process.on("warning", onWarning);
    onTestFinished(() => void process.off("warning", onWarning));
    // The first pass reads all the API holds (7 days back: the tenant's one day of history); then
    // every 6 h until a week has passed.
    results.push(...(await runtime.sync()));
    for (
      let now = start.getTime() + 6 * HOUR;
      now <= start.getTime() + 7 * DAY + 12 * HOUR;
      now += 6 * HOUR
    ) {
      t.emulator.clock.set(new Date(now));
      results.push(...(await runtime.sync()));
    }
    const window = {
      from: new Date(start.getTime() - DAY),
      to: new Date(start.getTime() + 7 * DAY),
    };
    const asOf = t.emulator.clock.now();
    const truth = t.emulator.groundTruth(window, { asOf, daily: true });
    const report = await runtime.report(window);

    expect(truth.apps.length).toBeGreaterThan(3);
    expect(truth.apps.some((a) => a.deleted)).toBe(true);
    expect(comparable(report)).toEqual(comparable(truth));
    expect(warnings.filter((w) => w.startsWith("MaxListenersExceededWarning"))).toEqual([]);

    const sum = (k: "duplicates" | "unparsed" | "blobsSkipped") =>
      results.reduce((n, r) => n + r[k], 0);
    // The faults and realism knobs really happened, so the equality above means something.
    const stats = t.emulator.stats();
    expect(stats.throttled).toBeGreaterThan(0);
    expect(runtime.metrics.get("audit_http_retries_total")).toBeGreaterThan(0);
    // PublisherIdentifier on every call (listing and blobs), and one cached token throughout.
    expect(Object.keys(stats.requestsByPublisher)).toEqual([t.env.AUDIT_TENANT_ID.toLowerCase()]);
    expect(stats.tokensIssued).toBe(1);
    expect(sum("duplicates")).toBeGreaterThan(0);
    expect(sum("blobsSkipped")).toBeGreaterThan(0);
    // Unparsed records are counted once each over everything synced (not silently dropped).
    const synced = { from: window.from, to: asOf };
    expect(sum("unparsed")).toBeGreaterThan(0);
    expect(sum("unparsed")).toBe(t.emulator.unparsedRecords(synced, { asOf }));
    expect(await runtime.store.gaps.list()).toEqual([]);

    // The per-app state (all time) agrees with the ground truth over everything listed so far.
    const allTime = t.emulator.groundTruth(
      { from: new Date(0), to: new Date(asOf.getTime() + DAY) },
      { asOf },
    );
    const states = new Map((await runtime.store.apps.list()).map((a) => [a.appId, a]));
    expect([...states.keys()].sort()).toEqual(allTime.apps.map((a) => a.appId).sort());
    for (const app of allTime.apps) {
      const state = states.get(app.appId)!;
      expect(state.lastLaunchedAt ?? null, app.appId).toBe(app.lastLaunchedAt);
      expect(state.lastLaunchedBy ?? null, app.appId).toBe(app.lastLaunchedBy);
      expect(state.deletedAt !== undefined, app.appId).toBe(app.deleted);
    }

    // The all-time inactive apps: the tenant's abandoned apps (idle since early in the week, not
    // deleted), exactly as the emulator expects for a client that synced from the first pass.
    const staleReport = await runtime.report({ from: window.from, to: asOf }, { staleDays: 3 });
    const expectedInactive = t.emulator.inactiveApps({
      seenFrom: window.from,
      to: asOf,
      staleDays: 3,
      asOf,
    });
    expect(expectedInactive.length).toBeGreaterThan(0);
    expect(staleReport.staleDays).toBe(3);
    expect(staleReport.inactiveApps).toEqual(expectedInactive);
  });
});
