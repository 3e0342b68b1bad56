import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOG_EVENTS, type LogEvent } from "../../../sync-runtime/contract";
import { GRAPH_RETENTION_MS, GRAPH_SOURCE_KEY } from "../../../sync-runtime/src/app/graph-pass";
import { serve } from "../../../sync-runtime/src/app/serve";
import type { Runtime } from "../../../sync-runtime/src/app/runtime";
import { oldestAllowed } from "../../../sync-runtime/src/domain/windows";
import { DAY, HOUR, startTestEnv, type TestEnv } from "./harness";

/**
 * The deployment's alert rules match the `event` field of the runtime's log lines (contract
 * LOG_EVENTS). Each scenario here provokes what an alert watches for and checks that the runtime
 * logged exactly the matching events, no more and no fewer, so a renamed or dropped event fails
 * here before it silently disarms an alert.
 */
const seen = new Set<LogEvent>();

/** The events of the log lines written since `from`, sorted. */
function eventsSince(t: TestEnv, from: number): LogEvent[] {
  const events = t.logs
    .slice(from)
    .map((l) => JSON.parse(l) as { event?: LogEvent })
    .flatMap((l) => (l.event === undefined ? [] : [l.event]));
  for (const e of events) seen.add(e);
  return events.sort();
}

const times = (event: LogEvent, n: number): LogEvent[] => Array<LogEvent>(n).fill(event);

describe("log events the alert rules match", () => {
  describe("on bad input", () => {
    const start = new Date("2026-06-20T00:00:00Z");
    let t: TestEnv;
    beforeAll(async () => {
      t = await startTestEnv({
        seed: "log-events-bad",
        startTime: start,
        pageSize: 5,
        tenant: { days: 1, futureDays: 0, apps: 4, users: 6, launchesPerDay: 80, deletes: 0 },
        content: { blobIntervalMinutes: 60, lateAvailabilityShare: 0, lateListingShare: 0 },
        badInput: {
          blobs: ["notJson", "expired", "foreignContentUri"],
          finalNextPageUri: "notAUrl",
        },
      });
    });
    afterAll(async () => t?.stop());

    it("logs content.quarantined, gap.recorded for expired and refused content, listing.cut per cut window", async () => {
      const from = t.logs.length;
      const [result] = await t.runtime().sync();
      expect(result).toMatchObject({ blobsQuarantined: 1, blobsExpired: 1, blobsRefused: 1 });
      expect(result.listingsCut).toBeGreaterThan(0);
      expect(eventsSince(t, from)).toEqual(
        [
          LOG_EVENTS.contentQuarantined,
          ...times(LOG_EVENTS.gapRecorded, 2),
          ...times(LOG_EVENTS.listingCut, result.listingsCut),
        ].sort(),
      );
    });
  });

  describe("on gaps and scheduled passes", () => {
    const start = new Date("2026-04-06T00:00:00Z");
    let t: TestEnv;
    beforeAll(async () => {
      t = await startTestEnv({
        seed: "log-events",
        startTime: start,
        tenant: { days: 1, futureDays: 10, apps: 4, users: 6, launchesPerDay: 40, deletes: 0 },
        content: { blobIntervalMinutes: 120, lateAvailabilityShare: 0, lateListingShare: 0 },
      });
    });
    afterAll(async () => t?.stop());

    /** Runs serve until its first pass has ended, then stops it. */
    async function onePass(runtime: Runtime): Promise<void> {
      const controller = new AbortController();
      const service = await serve(runtime, {
        port: 0,
        intervalMs: 60 * 60_000,
        reportDays: 1,
        staleDays: 2,
        signal: controller.signal,
      });
      for (let i = 0; i < 400; i++) {
        const passes =
          runtime.metrics.get("audit_passes_total", { result: "ok" }) +
          runtime.metrics.get("audit_passes_total", { result: "failed" });
        if (passes > 0) break;
        await new Promise((r) => setTimeout(r, 25));
      }
      controller.abort();
      await service.done;
    }

    it("serve logs pass.completed for a pass that completed, and nothing else on a quiet day", async () => {
      const from = t.logs.length;
      await onePass(t.runtime());
      expect(eventsSince(t, from)).toEqual([LOG_EVENTS.passCompleted]);
    });

    it("serve logs pass.failed for a pass that failed", async () => {
      const from = t.logs.length;
      await onePass(t.runtime({ AUDIT_CLIENT_SECRET: "not-the-secret-value" }));
      expect(eventsSince(t, from)).toEqual([LOG_EVENTS.passFailed]);
    });

    it("logs gap.recorded once for a checkpoint older than the API's 7 days", async () => {
      t.emulator.clock.set(new Date(start.getTime() + 9 * DAY));
      const from = t.logs.length;
      const [result] = await t.runtime().sync();
      expect(result.gap).toBeDefined();
      expect(eventsSince(t, from)).toEqual([LOG_EVENTS.gapRecorded]);
    });

    it("logs gap.recorded once for a Graph checkpoint older than the audit retention", async () => {
      const runtime = t.runtime({}, { graphPolling: { pollIntervalMs: 1 } });
      await runtime.ready();
      const now = t.emulator.clock.now();
      await runtime.store.checkpoints.advance(
        GRAPH_SOURCE_KEY,
        new Date(now.getTime() - 200 * DAY),
        now,
      );
      const from = t.logs.length;
      // One hour past the oldest time Graph serves: one query, after the gap.
      const oldest = oldestAllowed(now, GRAPH_RETENTION_MS);
      const result = await runtime.syncGraph({ to: new Date(oldest.getTime() + HOUR) });
      expect(result.gap).toBeDefined();
      expect(eventsSince(t, from)).toEqual([LOG_EVENTS.gapRecorded]);
    });
  });

  // dataverse.rejected needs a Dataverse environment that refuses a row: dataverse-poison.test.ts
  // provokes it and checks the line, so this file covers every other event.
  it("covered every event but dataverse.rejected (proven in dataverse-poison.test.ts)", () => {
    const expected = Object.values(LOG_EVENTS).filter((e) => e !== LOG_EVENTS.dataverseRejected);
    expect([...seen].sort()).toEqual([...expected].sort());
  });
});
