import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ActivityApi } from "../../../sync-runtime/src/clients/activity-api";
import type { ContentItem } from "../../../sync-runtime/src/domain/content";
import { WrittenIds } from "../../../sync-runtime/src/domain/written-ids";
import { runPass } from "../../../sync-runtime/src/app/pass";
import { oldestAllowed } from "../../../sync-runtime/src/domain/windows";
import { DAY, HOUR, startTestEnv, type TestEnv } from "./harness";

/**
 * Content listed, then gone when downloaded (AF20052): a pass at the 7-day edge stalls between
 * listing and download (as a long throttle would) until the oldest listed blob has expired. The
 * emulator really refuses the blob; the runtime must record the loss where an operator looks
 * (gaps table, metric, error log naming the content id and its contentCreated), fetch the rest,
 * and finish the pass instead of failing or retrying forever.
 */
describe("content that expires between listing and download", () => {
  const start = new Date("2026-05-11T00:00:00Z");
  let t: TestEnv;
  beforeAll(async () => {
    t = await startTestEnv({
      seed: "expired",
      startTime: start,
      tenant: { days: 8, futureDays: 1, apps: 4, users: 6, launchesPerDay: 60, deletes: 0 },
      content: { blobIntervalMinutes: 10, lateListingShare: 0, lateAvailabilityShare: 0 },
    });
  });
  afterAll(async () => t?.stop());

  it("records the expired blob as lost (gap, metric, log), syncs the others and completes", async () => {
    const runtime = t.runtime({ AUDIT_BLOB_CONCURRENCY: "1" });
    await runtime.ready();
    const listed: ContentItem[] = [];
    let stalledUntil: Date | undefined;
    // The real client, except that the first download waits (in emulator time) until the oldest
    // listed blob's contentExpiration.
    const api = Object.create(runtime.api) as ActivityApi;
    api.listContent = async function* (contentType, from, to) {
      for await (const page of runtime.api.listContent(contentType, from, to)) {
        listed.push(...page);
        yield page;
      }
    };
    api.fetchContent = async (contentUri, begin) => {
      if (!stalledUntil) {
        stalledUntil = new Date(listed[0].contentExpiration);
        t.emulator.clock.set(stalledUntil);
      }
      return runtime.api.fetchContent(contentUri, begin);
    };

    const from = oldestAllowed(start);
    const to = new Date(from.getTime() + HOUR);
    const [result] = await runPass(
      {
        api,
        store: runtime.store,
        metrics: runtime.metrics,
        logger: runtime.logger,
        now: runtime.now,
        writtenIds: new WrittenIds(),
      },
      {
        contentTypes: ["Audit.General"],
        from,
        to,
        overlapMs: 0,
        firstRunMs: DAY,
        blobConcurrency: 1,
      },
    );

    const expired = listed.filter(
      (i) => Date.parse(i.contentExpiration) <= stalledUntil!.getTime(),
    );
    expect(expired.length).toBeGreaterThanOrEqual(1);
    expect(listed.length).toBeGreaterThan(expired.length + 2);
    const stats = t.emulator.stats();
    // The pass finished: every other blob was fetched and stored, the expired one tried once.
    expect(result).toMatchObject({
      blobsListed: listed.length,
      blobsExpired: expired.length,
      blobsProcessed: listed.length - expired.length,
      checkpoint: to.toISOString(),
    });
    expect(stats.blobsServed).toBe(listed.length - expired.length);
    expect(result.records).toBe(stats.recordsServed);
    expect(runtime.metrics.get("audit_http_retries_total")).toBe(0);

    // Visible: metric, one error log line per blob, and a gaps row naming it.
    const labels = { content_type: "Audit.General" };
    expect(runtime.metrics.get("audit_blobs_expired_total", labels)).toBe(expired.length);
    const logged = t.logs.map((l) => JSON.parse(l)).filter((l) => /expired/.test(l.msg));
    expect(logged).toEqual(
      expired.map((i) =>
        expect.objectContaining({
          level: "error",
          contentId: i.contentId,
          contentCreated: i.contentCreated,
        }),
      ),
    );
    expect(await runtime.store.gaps.list()).toEqual(
      expired.map((i) => ({
        contentType: "Audit.General",
        contentId: i.contentId,
        contentCreated: i.contentCreated,
        contentExpiration: i.contentExpiration,
        reason: "expired",
        detectedAt: stalledUntil!.toISOString(),
      })),
    );
    // Marked, so a re-listing (overlap) skips it instead of asking the API again.
    for (const i of expired) {
      expect(await runtime.store.contentIds.isProcessed(i.contentType, i.contentId)).toBe(true);
    }
  });
});
