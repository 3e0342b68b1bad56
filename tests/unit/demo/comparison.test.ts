import { describe, expect, it } from "vitest";
import { completeWindow, inactiveDifferences, reportDifferences } from "../../../demo/comparison";
import type { InactiveApp, TruthWindow, UsageReport } from "../../../emulator/tenant/ground-truth";

const MINUTE = 60_000;
const T0 = Date.parse("2026-05-12T00:00:00Z");

/** completeAt over a list of records (event time, first listed time), like the emulator's. */
function completeAtOf(records: { at: number; listed: number }[]) {
  return (w: TruthWindow) => {
    const inWindow = records.filter((r) => r.at >= w.from.getTime() && r.at < w.to.getTime());
    return inWindow.length === 0 ? null : new Date(Math.max(...inWindow.map((r) => r.listed)));
  };
}

describe("completeWindow", () => {
  it("ends at the last minute whose records were all listed before the cut-off", () => {
    const records = [
      { at: T0 + 5 * MINUTE, listed: T0 + 70 * MINUTE },
      { at: T0 + 30 * MINUTE, listed: T0 + 100 * MINUTE },
      // Late: this record (and everything after it) was not listed before T0 + 120 min.
      { at: T0 + 42 * MINUTE + 30_000, listed: T0 + 600 * MINUTE },
      { at: T0 + 50 * MINUTE, listed: T0 + 110 * MINUTE },
    ];
    const w = completeWindow(new Date(T0), new Date(T0 + 120 * MINUTE), completeAtOf(records));
    expect(w.from.getTime()).toBe(T0);
    // 42:30 is excluded only by a window ending at 42:00; 43:00 would include it.
    expect(w.to.getTime()).toBe(T0 + 42 * MINUTE);
  });

  it("takes everything up to the cut-off when nothing is late, and nothing when the first record is", () => {
    const onTime = [{ at: T0 + MINUTE, listed: T0 + 2 * MINUTE }];
    expect(
      completeWindow(new Date(T0), new Date(T0 + 90 * MINUTE), completeAtOf(onTime)).to.getTime(),
    ).toBe(T0 + 90 * MINUTE);
    const late = [{ at: T0, listed: T0 + 200 * MINUTE }];
    expect(
      completeWindow(new Date(T0), new Date(T0 + 90 * MINUTE), completeAtOf(late)).to.getTime(),
    ).toBe(T0);
  });

  it("counts a record listed exactly at the cut-off as not yet seen (listing windows end exclusively)", () => {
    const records = [{ at: T0 + 10 * MINUTE, listed: T0 + 60 * MINUTE }];
    const w = completeWindow(new Date(T0), new Date(T0 + 60 * MINUTE), completeAtOf(records));
    expect(w.to.getTime()).toBe(T0 + 10 * MINUTE);
  });
});

const app = (appId: string, launches: number, extra: Partial<UsageReport["apps"][0]> = {}) => ({
  appId,
  appName: `App ${appId}`,
  environmentId: "env",
  launches,
  uniqueUsers: 1,
  lastLaunchedAt: "2026-05-12T10:00:00.000Z",
  lastLaunchedBy: "a@contoso.com",
  deleted: false,
  ...extra,
});

const truth: UsageReport = {
  from: "2026-05-12T00:00:00.000Z",
  to: "2026-05-13T00:00:00.000Z",
  apps: [app("a", 5), app("b", 3)],
  daily: [{ date: "2026-05-12", launches: 8 }],
};

describe("reportDifferences", () => {
  it("finds none in an equal report, whose daily may list days without launches", () => {
    const report = {
      ...truth,
      daily: [...truth.daily!, { date: "2026-05-13", launches: 0 }],
    };
    expect(reportDifferences(report, truth)).toEqual([]);
  });

  it("names every differing field, missing and extra app, and day", () => {
    const report: UsageReport = {
      ...truth,
      apps: [app("a", 5, { uniqueUsers: 2, deleted: true }), app("c", 1)],
      daily: [{ date: "2026-05-12", launches: 6 }],
    };
    expect(reportDifferences(report, truth)).toEqual([
      "app a uniqueUsers: report 2, truth 1",
      "app a deleted: report true, truth false",
      "app b (App b): missing from the report",
      "app c: in the report but not in the ground truth",
      "launches on 2026-05-12: report 6, truth 8",
    ]);
  });

  it("notices a different order and a different window", () => {
    const reordered = { ...truth, apps: [truth.apps[1], truth.apps[0]] };
    expect(reportDifferences(reordered, truth)).toEqual([
      "apps are in a different order (launches descending, then appId)",
    ]);
    expect(reportDifferences({ ...truth, to: "2026-05-14T00:00:00.000Z" }, truth)[0]).toMatch(
      /^window:/,
    );
  });
});

describe("inactiveDifferences", () => {
  const a: InactiveApp = {
    appId: "app-a",
    appName: "A",
    environmentId: "env",
    lastLaunchedAt: "2026-05-10T10:00:00.000Z",
    lastLaunchedBy: "ann@contoso.com",
  };
  const b: InactiveApp = { ...a, appId: "app-b", appName: "B", lastLaunchedAt: null };

  it("is empty when the lists agree, field by field and in order", () => {
    expect(inactiveDifferences([b, a], [b, a])).toEqual([]);
  });

  it("names missing, extra and differing apps, a wrong order, and a missing list", () => {
    expect(inactiveDifferences([a], [a, b])).toEqual([
      "inactive app app-b (B): missing from the report",
    ]);
    expect(inactiveDifferences([a, b], [a])).toEqual([
      "inactive app app-b: in the report but not expected",
    ]);
    expect(inactiveDifferences([{ ...a, lastLaunchedBy: "bob@contoso.com" }], [a])).toEqual([
      'inactive app app-a lastLaunchedBy: report "bob@contoso.com", expected "ann@contoso.com"',
    ]);
    expect(inactiveDifferences([a, b], [b, a])).toEqual([
      "inactive apps are in a different order (longest idle first, then appId)",
    ]);
    expect(inactiveDifferences(undefined, [])).toEqual(["inactiveApps: missing from the report"]);
  });
});
