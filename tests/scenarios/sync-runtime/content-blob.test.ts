import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { processBlob } from "../../../sync-runtime/src/app/content-blob";
import type { ContentItem } from "../../../sync-runtime/src/domain/content";
import { WrittenIds } from "../../../sync-runtime/src/domain/written-ids";
import { DAY, startTestEnv, type TestEnv } from "./harness";

/**
 * The "processed" mark is what makes a blob skippable, so it must be written after everything
 * else of the blob: a blob whose event write fails (or whose process is killed meanwhile) is not
 * marked, and the next pass stores it in full. The crash loop of the fault suite proves the same
 * with SIGKILL at random points; this proves it at the one point that matters, every time.
 */
describe("one content blob", () => {
  const start = new Date("2026-05-20T00:00:00Z");
  let t: TestEnv;
  beforeAll(async () => {
    t = await startTestEnv({
      seed: "content-blob",
      startTime: start,
      tenant: { days: 2, futureDays: 1, apps: 3, users: 4, launchesPerDay: 40, deletes: 0 },
      content: { blobIntervalMinutes: 240, lateListingShare: 0, lateAvailabilityShare: 0 },
    });
  });
  afterAll(async () => t?.stop());

  it("is not marked processed when its events could not be stored, and is stored in full next time", async () => {
    const runtime = t.runtime();
    await runtime.ready();
    await runtime.api.startSubscription("Audit.General");
    const listed: ContentItem[] = [];
    for await (const page of runtime.api.listContent(
      "Audit.General",
      new Date(start.getTime() - DAY),
      start,
    )) {
      listed.push(...page);
    }
    const item = listed[0]!;
    const ctx = {
      api: runtime.api,
      metrics: runtime.metrics,
      logger: runtime.logger,
      now: runtime.now,
      writtenIds: new WrittenIds(),
    };
    const failingLaunches = {
      write: () => Promise.reject(new Error("launches table write failed")),
    };
    await expect(
      processBlob({ ...ctx, store: { ...runtime.store, launches: failingLaunches } }, item),
    ).rejects.toThrow("launches table write failed");
    expect(await runtime.store.contentIds.isProcessed(item.contentType, item.contentId)).toBe(
      false,
    );

    const outcome = await processBlob({ ...ctx, store: runtime.store }, item);
    expect(outcome.status).toBe("processed");
    expect(await runtime.store.contentIds.isProcessed(item.contentType, item.contentId)).toBe(true);
  });
});
