import { afterEach, describe, expect, it } from "vitest";
import { comparable, DAY, startTestEnv, type TestEnv } from "./harness";

/**
 * The bearer token goes with every API call, so it must only ever go to the API. The emulator
 * hands out URIs on another host name of itself (localhost instead of 127.0.0.1) and records
 * every request that reaches them: an empty list proves no token left.
 */
describe("tokens only to the API's origin", () => {
  const start = new Date("2026-06-10T00:00:00Z");
  let t: TestEnv | undefined;
  afterEach(async () => {
    await t?.stop();
    t = undefined;
  });
  const tenant = { days: 1, futureDays: 0, apps: 4, users: 6, launchesPerDay: 80, deletes: 0 };
  const content = { blobIntervalMinutes: 60, lateAvailabilityShare: 0, lateListingShare: 0 };

  it("refuses a contentUri off the API's origin, records the blob as lost and syncs the rest", async () => {
    t = await startTestEnv({
      seed: "foreign-content",
      startTime: start,
      tenant,
      content,
      badInput: { blobs: ["foreignContentUri"] },
    });
    const runtime = t.runtime();
    const [result] = await runtime.sync();
    const [bad] = t.emulator.badInput().blobs;
    expect(t.emulator.foreignRequests()).toEqual([]);
    expect(result.blobsRefused).toBe(1);
    expect(
      runtime.metrics.get("audit_blobs_refused_total", { content_type: "Audit.General" }),
    ).toBe(1);
    expect(await runtime.store.gaps.list()).toEqual([
      expect.objectContaining({ contentId: bad.contentId, reason: "refused" }),
    ]);
    // Every other blob is stored: the report is the truth without the refused blob's records.
    const window = { from: new Date(start.getTime() - DAY), to: start };
    expect(comparable(await runtime.report(window))).toEqual(
      comparable(t.emulator.groundTruth(window, { asOf: start, daily: true })),
    );
    expect(t.logs.join("\n")).toContain("content refused: its contentUri is not on the API");
  });

  it("ends a listing at an empty NextPageUri", async () => {
    t = await startTestEnv({
      seed: "empty-next",
      startTime: start,
      tenant,
      content,
      pageSize: 5,
      badInput: { finalNextPageUri: "empty" },
    });
    const runtime = t.runtime();
    const [result] = await runtime.sync();
    expect(result.blobsProcessed).toBeGreaterThan(5);
    const window = { from: new Date(start.getTime() - DAY), to: start };
    expect(comparable(await runtime.report(window))).toEqual(
      comparable(t.emulator.groundTruth(window, { asOf: start, daily: true })),
    );
  });

  it.each([
    ["foreignHost", "is not on the API's origin"],
    ["notAUrl", "is not a URL"],
    ["sameListing", "repeats a page already listed"],
  ] as const)(
    "ends a listing at an absurd NextPageUri (%s) without following it, records the window and syncs what was listed",
    async (kind, why) => {
      t = await startTestEnv({
        seed: `absurd-${kind}`,
        startTime: start,
        tenant,
        content,
        pageSize: 5,
        badInput: { finalNextPageUri: kind },
      });
      const runtime = t.runtime();
      const [result] = await runtime.sync();
      expect(t.emulator.foreignRequests()).toEqual([]);
      // The emulator puts it on the last page of each listing: nothing was left to list, so the
      // report is the whole truth, and every window is on record as cut.
      expect(result.windows).toBeGreaterThan(0);
      expect(result.listingsCut).toBe(result.windows);
      expect(
        runtime.metrics.get("audit_listings_cut_total", { content_type: "Audit.General" }),
      ).toBe(result.windows);
      expect(result.checkpoint).toBe(result.to);
      const window = { from: new Date(start.getTime() - DAY), to: start };
      expect(comparable(await runtime.report(window))).toEqual(
        comparable(t.emulator.groundTruth(window, { asOf: start, daily: true })),
      );
      const gaps = await runtime.store.gaps.list();
      expect(gaps).toHaveLength(result.windows);
      for (const g of gaps) {
        expect(g).toMatchObject({ contentType: "Audit.General", reason: "listingCut" });
        expect("detail" in g && g.detail).toContain(why);
      }
      const kept: string[] = [];
      for await (const b of runtime.storage.quarantine.listBlobsFlat({ prefix: "listings/" }))
        kept.push(b.name);
      expect(kept).toHaveLength(result.windows);
      const answer = JSON.parse(
        (await runtime.storage.quarantine.getBlobClient(kept[0]).downloadToBuffer()).toString(
          "utf8",
        ),
      );
      expect(answer).toMatchObject({
        contentType: "Audit.General",
        why: expect.stringContaining(why),
      });
      expect(answer.pages).toBeGreaterThan(0);
      expect(t.logs.join("\n")).toContain("content listing cut short");
    },
  );
});
