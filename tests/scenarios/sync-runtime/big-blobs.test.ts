import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { planPass } from "../../../sync-runtime/src/domain/windows";
import { archiveBlobName } from "../../../sync-runtime/src/storage/raw-archive";
import { comparable, DAY, HOUR, startTestEnv, type TestEnv } from "./harness";

/** Content blobs of several MB go through the streaming parser and the archive intact. */
describe("big content blobs", () => {
  const start = new Date("2026-03-16T00:00:00Z");
  let t: TestEnv;
  beforeAll(async () => {
    t = await startTestEnv({
      seed: "big",
      startTime: start,
      tenant: { days: 1, futureDays: 0, apps: 4, users: 6, launchesPerDay: 60, deletes: 0 },
      content: {
        blobIntervalMinutes: 120,
        bigBlobShare: 0.25,
        bigBlobBytes: [3_000_000, 5_000_000],
        lateAvailabilityShare: 0,
        lateListingShare: 0,
      },
    });
  });
  afterAll(async () => t?.stop());

  it("syncs them to the ground truth and archives every record", async () => {
    const runtime = t.runtime();
    const [result] = await runtime.sync();
    const window = {
      from: new Date(start.getTime() - DAY + 2 * HOUR),
      to: new Date(start.getTime() - 2 * HOUR),
    };
    expect(comparable(await runtime.report(window))).toEqual(
      comparable(t.emulator.groundTruth(window, { asOf: t.emulator.clock.now(), daily: true })),
    );

    // Every listed blob is archived record for record: fetch each again from the API (through
    // the same client, but not through the archive) and compare with its archive's lines.
    let archived = 0;
    let biggest = 0;
    for (const window of planPass({
      now: t.emulator.clock.now(),
      requestedFrom: new Date(result.from),
      requestedTo: new Date(result.to),
      overlapMs: 0,
      firstRunMs: 0,
    }).windows) {
      for await (const page of runtime.api.listContent(
        result.contentType,
        window.from,
        window.to,
      )) {
        for (const item of page) {
          const served: unknown[] = [];
          await runtime.api.fetchContent(item.contentUri, () => (records) => {
            served.push(...records);
          });
          const gz = await runtime.storage.raw
            .getBlobClient(archiveBlobName(item))
            .downloadToBuffer();
          const text = gunzipSync(gz).toString("utf8");
          expect(
            text
              .trimEnd()
              .split("\n")
              .map((line) => JSON.parse(line)),
          ).toEqual(served);
          archived += served.length;
          biggest = Math.max(biggest, Buffer.byteLength(text));
        }
      }
    }
    expect(archived).toBe(result.records);
    // The blobs were big: several MB of JSON streamed through parser and archive.
    expect(biggest).toBeGreaterThan(2_500_000);
    expect(result.records).toBe(t.emulator.stats().recordsServed - archived);
  });
});
