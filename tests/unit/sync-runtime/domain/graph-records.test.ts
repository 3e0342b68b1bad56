import { describe, expect, it } from "vitest";
import { auditDataOf, halve } from "../../../../sync-runtime/src/domain/graph-records";
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
