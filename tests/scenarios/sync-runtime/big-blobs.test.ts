import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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

    // Find the biggest archive: it must hold as many lines as the blob had records.
    let biggest = { name: "", size: 0 };
    for await (const b of runtime.storage.raw.listBlobsFlat()) {
      if ((b.properties.contentLength ?? 0) > biggest.size)
        biggest = { name: b.name, size: b.properties.contentLength ?? 0 };
    }
    const lines = gunzipSync(
      await runtime.storage.raw.getBlobClient(biggest.name).downloadToBuffer(),
    )
      .toString("utf8")
      .trimEnd()
      .split("\n");
    expect(lines.length).toBeGreaterThan(1000);
    expect(Buffer.byteLength(lines.join("\n"))).toBeGreaterThan(2_500_000);
    for (const line of [lines[0], lines[lines.length - 1]])
      expect(JSON.parse(line)).toHaveProperty("Id");
    expect(result.records).toBe(t.emulator.stats().recordsServed);
  });
});
