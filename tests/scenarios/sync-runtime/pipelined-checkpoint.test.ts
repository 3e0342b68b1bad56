import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ActivityApi } from "../../../sync-runtime/src/clients/activity-api";
import type { ContentItem } from "../../../sync-runtime/src/domain/content";
import { WrittenIds } from "../../../sync-runtime/src/domain/written-ids";
import { runPass } from "../../../sync-runtime/src/app/pass";
import { DAY, startTestEnv, type TestEnv } from "./harness";

/**
 * Windows overlap (the next ones are listed and stored while the first still has a blob in
 * flight), so later windows can be done before an earlier one: the checkpoint must still never
 * pass a window with an unfinished blob. One slow blob in the first window, the two later
 * windows stored in full, then the pass is stopped.
 */
describe("the checkpoint with windows in flight together", () => {
  const start = new Date("2026-05-20T00:00:00Z");
  let t: TestEnv;
  beforeAll(async () => {
    t = await startTestEnv({
      seed: "pipelined",
      startTime: start,
      tenant: { days: 4, futureDays: 1, apps: 4, users: 6, launchesPerDay: 60, deletes: 0 },
      content: { blobIntervalMinutes: 120, lateListingShare: 0, lateAvailabilityShare: 0 },
    });
  });
  afterAll(async () => t?.stop());

  it("does not advance past a window whose slow blob is unfinished, though later windows are done", async () => {
    const runtime = t.runtime();
    await runtime.ready();
    const from = new Date(start.getTime() - 3 * DAY);
    const windowOf = (item: ContentItem) =>
      Math.floor((Date.parse(item.contentCreated) - from.getTime()) / DAY);
    const listed: ContentItem[] = [];
    let listingsDone = 0;
    let slow: ContentItem | undefined;
    const stop = new AbortController();
    // The real client, except that the first blob of the first window never finishes: its
    // download waits until the pass is stopped.
    const api = Object.create(runtime.api) as ActivityApi;
    api.listContent = async function* (contentType, f, to, options) {
      for await (const page of runtime.api.listContent(contentType, f, to, options)) {
        listed.push(...page);
        yield page;
      }
      listingsDone++;
    };
    api.fetchContent = async (contentUri, begin, options) => {
      const item = listed.find((i) => i.contentUri === contentUri)!;
      if (!slow && windowOf(item) === 0) slow = item;
      if (item === slow)
        await new Promise((_, reject) =>
          options!.signal!.addEventListener("abort", () => reject(options!.signal!.reason)),
        );
      return runtime.api.fetchContent(contentUri, begin, options);
    };

    let windowsDoneSeen = 0;
    const pass = runPass(
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
        to: start,
        overlapMs: 0,
        firstRunMs: DAY,
        blobConcurrency: 4,
        signal: stop.signal,
        onProgress: (s) => {
          windowsDoneSeen = Math.max(windowsDoneSeen, s.windowsDone);
          // Every window listed, every blob but the slow one stored: stop the pass.
          if (listingsDone === 3 && s.blobsDone === listed.length - 1) stop.abort();
        },
      },
    );
    await expect(pass).rejects.toThrow();
    expect(stop.signal.aborted).toBe(true);

    // The later windows really were done: each of their blobs is stored and marked.
    const later = listed.filter((i) => windowOf(i) > 0);
    expect(later.length).toBeGreaterThan(10);
    for (const i of later)
      expect(await runtime.store.contentIds.isProcessed(i.contentType, i.contentId)).toBe(true);
    expect(await runtime.store.contentIds.isProcessed(slow!.contentType, slow!.contentId)).toBe(
      false,
    );
    // Yet the checkpoint is not past the first window; the progress never counted a window done.
    expect(await runtime.store.checkpoints.get("Audit.General")).toBeUndefined();
    expect(windowsDoneSeen).toBe(0);

    // The next pass finishes what was left and moves the checkpoint to the end.
    const [result] = await runPass(
      {
        api: runtime.api,
        store: runtime.store,
        metrics: runtime.metrics,
        logger: runtime.logger,
        now: runtime.now,
        writtenIds: new WrittenIds(),
      },
      {
        contentTypes: ["Audit.General"],
        from,
        to: start,
        overlapMs: 0,
        firstRunMs: DAY,
        blobConcurrency: 4,
      },
    );
    expect(result.blobsProcessed).toBe(1);
    expect(result.blobsSkipped).toBe(listed.length - 1);
    expect(result.checkpoint).toBe(start.toISOString());
  });
});
