import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BAD_RECORD_KINDS } from "../../../emulator/index";
import type { ContentTypeResult } from "../../../sync-runtime/src/app/pass";
import { comparable, DAY, startTestEnv, type TestEnv } from "./harness";

/**
 * The emulator's bad input corpus (emulator/README.md): unreadable blobs, malformed and unknown
 * records, a record of several MB. None of it may block the other blobs or lose a good record;
 * each unreadable blob is kept in quarantine and listed by `gaps`.
 */
describe("bad input", () => {
  const start = new Date("2026-06-20T00:00:00Z");
  let t: TestEnv;
  let result: ContentTypeResult;
  beforeAll(async () => {
    t = await startTestEnv({
      seed: "bad-input",
      startTime: start,
      tenant: { days: 1, futureDays: 0, apps: 5, users: 8, launchesPerDay: 150, deletes: 1 },
      content: { blobIntervalMinutes: 30, lateAvailabilityShare: 0, lateListingShare: 0 },
      badInput: {
        blobs: ["notJson", "notArray", "unknownError"],
        records: [...BAD_RECORD_KINDS],
        hugeRecords: 1,
        hugeRecordBytes: 3_000_000,
      },
    });
    [result] = await t.runtime().sync();
  });
  afterAll(async () => t?.stop());

  it("quarantines exactly the unreadable blobs, with their bytes and reason, and lists them", async () => {
    const bad = t.emulator.badInput().blobs;
    expect(result.blobsQuarantined).toBe(bad.length);
    const runtime = t.runtime();
    const gaps = await runtime.store.gaps.list();
    expect(
      gaps
        .filter((g) => "contentId" in g && g.reason === "quarantined")
        .map((g) => ("contentId" in g ? g.contentId : ""))
        .sort(),
    ).toEqual(bad.map((b) => b.contentId).sort());
    const kept: string[] = [];
    for await (const blob of runtime.storage.quarantine.listBlobsFlat({ includeMetadata: true })) {
      kept.push(blob.name);
      expect(blob.properties.contentLength).toBeGreaterThan(0);
      expect(blob.metadata?.httpstatus).toMatch(/^\d{3}$/);
    }
    expect(kept).toHaveLength(bad.length);
    expect(t.logs.join("\n")).toContain("content quarantined");
  });

  it("never loses a good record: the report is the ground truth without the lost blobs", async () => {
    const window = { from: new Date(start.getTime() - DAY), to: start };
    expect(comparable(await t.runtime().report(window))).toEqual(
      comparable(t.emulator.groundTruth(window, { asOf: start, daily: true })),
    );
    // The record of several MB is a launch like any other, and counted.
    expect(t.emulator.badInput().hugeRecords).toHaveLength(1);
    expect(result.blobsProcessed).toBeGreaterThan(20);
  });

  it("counts malformed records as unparsed, not as launches", () => {
    const malformed = t.emulator.badInput().records.filter((r) => r.expected === "unparsed");
    expect(malformed.length).toBeGreaterThan(0);
    expect(result.unparsed).toBeGreaterThanOrEqual(malformed.length);
  });
});
