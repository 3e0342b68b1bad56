/**
 * Why clients must overlap their windows: over a simulated two days, a client that lists each
 * hour exactly once misses blobs that were listed late, while one that re-lists the last six
 * hours and de-duplicates gets exactly the ground truth.
 */
import { describe, expect, it } from "vitest";
import { startEmulator } from "../../../emulator/index";
import { apiClient, feedUrl, listAll } from "./helpers";

const HOUR = 3_600_000;
const START = new Date("2026-05-20T00:00:00Z");
const t = (ms: number) => new Date(ms).toISOString().slice(0, 19);

describe("a client's view over simulated time", () => {
  it("matches the ground truth only when it overlaps its windows", async () => {
    const emu = await startEmulator({
      seed: "client-model",
      startTime: START,
      pageSize: 20,
      tenant: { days: 1, futureDays: 2, apps: 6, users: 15, launchesPerDay: 120 },
      content: { lateListingShare: 0.15, duplicateShare: 0.05 },
    });
    try {
      const c = await apiClient(emu);
      await c.post(feedUrl(emu, "subscriptions/start", { contentType: "Audit.General" }));
      const window = { from: START, to: new Date(START.getTime() + 24 * HOUR) };
      const completeAt = emu.windowCompleteAt(window)!.getTime();
      expect(completeAt).toBeGreaterThan(window.to.getTime() + HOUR);

      const launches = { naive: new Map<string, string>(), overlapping: new Map<string, string>() };
      const fetched = new Set<string>();
      const fetchInto = async (uri: string, into: Map<string, string>) => {
        const records = JSON.parse((await c.get(uri)).body) as {
          Id: string;
          Operation: string;
          CreationTime: string;
        }[];
        for (const r of records)
          if (r.Operation === "LaunchPowerApp") into.set(r.Id, r.CreationTime);
      };
      let naiveFrom = START.getTime();
      while (emu.clock.now().getTime() <= completeAt) {
        emu.clock.advance(HOUR);
        const now = emu.clock.now().getTime();
        const naive = await listAll(
          c.get,
          feedUrl(emu, "subscriptions/content", {
            contentType: "Audit.General",
            startTime: t(naiveFrom),
            endTime: t(now),
          }),
        );
        for (const item of naive.items) await fetchInto(item.contentUri, launches.naive);
        naiveFrom = now;
        const overlap = await listAll(
          c.get,
          feedUrl(emu, "subscriptions/content", {
            contentType: "Audit.General",
            startTime: t(now - 6 * HOUR),
            endTime: t(now),
          }),
        );
        for (const item of overlap.items) {
          if (fetched.has(item.contentId)) continue;
          fetched.add(item.contentId);
          await fetchInto(item.contentUri, launches.overlapping);
        }
      }
      const inWindow = (m: Map<string, string>) =>
        [...m.values()].filter((ct) => {
          const ms = Date.parse(`${ct}Z`);
          return ms >= window.from.getTime() && ms < window.to.getTime();
        }).length;
      const truth =
        emu.groundTruth(window).apps.reduce((s, a) => s + a.launches, 0) +
        emu.unparsedRecords(window);
      expect(truth).toBeGreaterThan(50);
      expect(inWindow(launches.overlapping)).toBe(truth);
      expect(inWindow(launches.naive)).toBeLessThan(truth);
    } finally {
      await emu.stop();
    }
  });
});
