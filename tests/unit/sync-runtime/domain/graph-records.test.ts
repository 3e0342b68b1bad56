import { describe, expect, it } from "vitest";
import {
  auditDataOf,
  dayWindows,
  halve,
  pollDelayMs,
  sawEveryRecord,
} from "../../../../sync-runtime/src/domain/graph-records";
import { RecordCollector } from "../../../../sync-runtime/src/domain/tally";

const launch = {
  Id: "e2a84675-8952-4d91-a2ea-4d89f310f1a7",
  RecordType: 45,
  CreationTime: "2026-05-19T13:17:34",
  Operation: "LaunchPowerApp",
  UserId: "amber@contoso.onmicrosoft.com",
  AppName: "6c39e97c-6ddd-4a37-afd4-494a605925cf",
  EnvironmentName: "aa289efd-09f4-eaeb-bbb8-c08fc9e27d09",
};

describe("auditDataOf", () => {
  it("classifies a Graph record by its auditData, like the Management API's record", () => {
    const fromGraph = new RecordCollector();
    fromGraph.add(auditDataOf({ id: launch.Id, operation: "LaunchPowerApp", auditData: launch }));
    const fromApi = new RecordCollector();
    fromApi.add(launch);
    expect(fromGraph.events).toEqual(fromApi.events);
    expect(fromGraph.events).toHaveLength(1);
  });

  it("counts a Graph record without auditData as unparsed, not silently dropped", () => {
    const c = new RecordCollector();
    c.add(auditDataOf({ id: launch.Id, operation: "LaunchPowerApp" }));
    c.add(auditDataOf({ id: "x", auditData: "not an object" }));
    expect(c.events).toEqual([]);
    expect(c.records).toBe(2);
    expect(c.unparsedIds.size + c.unparsedWithoutId).toBe(2);
  });
});

describe("halve", () => {
  const from = new Date("2026-05-19T00:00:00Z");
  it("splits a window into two adjacent halves on a whole second", () => {
    const to = new Date("2026-05-19T00:00:03Z");
    const [a, b] = halve({ from, to }, 1000)!;
    expect(a).toEqual({ from, to: new Date("2026-05-19T00:00:01Z") });
    expect(b).toEqual({ from: new Date("2026-05-19T00:00:01Z"), to });
  });

  it("refuses to split a window not longer than the minimum", () => {
    expect(halve({ from, to: new Date(from.getTime() + 60_000) }, 60_000)).toBeUndefined();
    expect(halve({ from, to: new Date(from.getTime() + 1500) }, 1000)).toBeUndefined();
  });
});

describe("dayWindows", () => {
  const at = (iso: string) => new Date(iso);
  const shown = (ws: { from: Date; to: Date }[]) =>
    ws.map((w) => `${w.from.toISOString()}/${w.to.toISOString()}`);

  it("cuts an interval at UTC midnights, so every pass queries the same days", () => {
    expect(shown(dayWindows(at("2026-05-01T12:30:00Z"), at("2026-05-03T06:00:00Z")))).toEqual([
      "2026-05-01T12:30:00.000Z/2026-05-02T00:00:00.000Z",
      "2026-05-02T00:00:00.000Z/2026-05-03T00:00:00.000Z",
      "2026-05-03T00:00:00.000Z/2026-05-03T06:00:00.000Z",
    ]);
    expect(dayWindows(at("2026-05-01T00:00:00Z"), at("2026-05-31T00:00:00Z"))).toHaveLength(30);
    expect(dayWindows(at("2026-05-01T00:00:00Z"), at("2026-05-01T00:00:00Z"))).toEqual([]);
  });
});

describe("pollDelayMs", () => {
  it("polls soon at first, then at the interval", () => {
    expect([0, 1, 2, 3, 4, 5, 30].map((n) => pollDelayMs(n, 15_000))).toEqual([
      1000, 2000, 4000, 8000, 15_000, 15_000, 15_000,
    ]);
    expect(pollDelayMs(0, 1)).toBe(1);
  });
});

describe("sawEveryRecord", () => {
  const window = { from: new Date("2026-05-01T00:00:00Z"), to: new Date("2026-05-02T00:00:00Z") };
  it("holds for a query submitted when the window's latest records had arrived", () => {
    const late = 12 * 3_600_000;
    expect(sawEveryRecord(window, new Date("2026-05-02T12:00:00Z"), late)).toBe(true);
    expect(sawEveryRecord(window, new Date("2026-05-02T11:59:59Z"), late)).toBe(false);
  });
});
