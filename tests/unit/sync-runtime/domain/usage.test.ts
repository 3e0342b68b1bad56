import { describe, expect, it } from "vitest";
import { aggregateUsage, daysOf, type EventRow } from "../../../../sync-runtime/src/domain/usage";

const launch = (
  recordId: string,
  creationTime: string,
  appId: string,
  userUpn: string,
  extra: Partial<EventRow> = {},
): EventRow => ({
  kind: "launch",
  recordId,
  creationTime,
  appId,
  appName: null,
  environmentId: "env-1",
  userUpn,
  ...extra,
});

describe("aggregateUsage", () => {
  const window = { from: new Date("2026-05-18T00:00:00Z"), to: new Date("2026-05-20T00:00:00Z") };

  it("follows the report contract: distinct ids, case-insensitive users, latest launch, deletes, order", () => {
    const rows: EventRow[] = [
      launch("1", "2026-05-18T10:00:00.000Z", "app-b", "Amber@Contoso.com", {
        appName: "Old name",
      }),
      launch("1", "2026-05-18T10:00:00.000Z", "app-b", "Amber@Contoso.com", {
        appName: "Old name",
      }), // duplicate row
      launch("2", "2026-05-19T10:00:00.000Z", "app-b", "amber@contoso.com"),
      launch("3", "2026-05-19T10:00:00.000Z", "app-b", "Carl@contoso.com", { appName: "New name" }),
      launch("4", "2026-05-19T11:00:00.000Z", "app-a", "dora@contoso.com"),
      launch("5", "2026-05-19T12:00:00.000Z", "app-c", "eve@contoso.com"),
      launch("6", "2026-05-17T23:59:59.999Z", "app-a", "x@contoso.com"), // before the window
      launch("7", "2026-05-20T00:00:00.000Z", "app-a", "y@contoso.com"), // the end is excluded
      {
        ...launch("8", "2026-05-19T13:00:00.000Z", "app-d", "z@contoso.com"),
        kind: "delete",
        userUpn: null,
      },
    ];
    const report = aggregateUsage(rows, window);
    expect(report.from).toBe("2026-05-18T00:00:00.000Z");
    expect(report.to).toBe("2026-05-20T00:00:00.000Z");
    expect(report.apps.map((a) => a.appId)).toEqual(["app-b", "app-a", "app-c", "app-d"]);
    expect(report.apps[0]).toEqual({
      appId: "app-b",
      appName: "New name",
      environmentId: "env-1",
      launches: 3,
      uniqueUsers: 2,
      // Ids 2 and 3 share the latest time: the greater Id wins.
      lastLaunchedAt: "2026-05-19T10:00:00.000Z",
      lastLaunchedBy: "Carl@contoso.com",
      deleted: false,
    });
    expect(report.apps[3]).toMatchObject({
      launches: 0,
      uniqueUsers: 0,
      lastLaunchedAt: null,
      lastLaunchedBy: null,
      deleted: true,
    });
    expect(report.daily).toEqual([
      { date: "2026-05-18", launches: 1 },
      { date: "2026-05-19", launches: 4 },
    ]);
  });
});

describe("daysOf", () => {
  it("lists every UTC day the window touches", () => {
    expect(daysOf(new Date("2026-05-18T23:00:00Z"), new Date("2026-05-19T00:00:01Z"))).toEqual([
      "2026-05-18",
      "2026-05-19",
    ]);
    expect(daysOf(new Date("2026-05-18T00:00:00Z"), new Date("2026-05-18T00:00:00Z"))).toEqual([]);
  });
});
