import { describe, expect, it } from "vitest";
import type { TenantEvent } from "../../../../emulator/tenant/generator";
import { groundTruth, inactiveApps } from "../../../../emulator/tenant/ground-truth";

describe("groundTruth semantics", () => {
  const e = (over: Partial<TenantEvent>): TenantEvent => ({
    id: "00000000-0000-4000-8000-000000000001",
    timeMs: Date.parse("2026-05-19T10:00:00Z"),
    operation: "LaunchPowerApp",
    organizationId: "org",
    userObjectId: "u",
    upn: "Ann@contoso.com",
    appId: "app-a",
    appName: "App A",
    environmentId: "env-1",
    legacy: false,
    availableAtMs: Date.parse("2026-05-19T11:00:00Z"),
    firstListedAtMs: Date.parse("2026-05-19T11:10:00Z"),
    ...over,
  });
  const window = { from: new Date("2026-05-19T00:00:00Z"), to: new Date("2026-05-20T00:00:00Z") };

  it("counts launches and case-insensitive unique users, breaks last-launch ties by the greater Id", () => {
    const events = [
      e({ id: "a1", upn: "Ann@contoso.com" }),
      e({ id: "a3", upn: "ANN@CONTOSO.COM", timeMs: Date.parse("2026-05-19T12:00:00Z") }),
      e({ id: "a2", upn: "bob@contoso.com", timeMs: Date.parse("2026-05-19T12:00:00Z") }),
      e({ id: "b1", appId: "app-b", appName: "App B", upn: "cy@contoso.com" }),
      e({ id: "x1", appId: null }),
    ];
    const truth = groundTruth(events, window);
    expect(truth).toEqual({
      from: "2026-05-19T00:00:00.000Z",
      to: "2026-05-20T00:00:00.000Z",
      apps: [
        {
          appId: "app-a",
          appName: "App A",
          environmentId: "env-1",
          launches: 3,
          uniqueUsers: 2,
          lastLaunchedAt: "2026-05-19T12:00:00.000Z",
          lastLaunchedBy: "ANN@CONTOSO.COM",
          deleted: false,
        },
        {
          appId: "app-b",
          appName: "App B",
          environmentId: "env-1",
          launches: 1,
          uniqueUsers: 1,
          lastLaunchedAt: "2026-05-19T10:00:00.000Z",
          lastLaunchedBy: "cy@contoso.com",
          deleted: false,
        },
      ],
    });
  });

  it("window includes from and excludes to; deletes mark an app; legacy records carry no name", () => {
    const events = [
      e({ id: "l1", timeMs: window.from.getTime(), legacy: true, appId: "app-c" }),
      e({ id: "l2", timeMs: window.to.getTime(), appId: "app-c" }),
      e({ id: "d1", operation: "DeletePowerApp", appId: "app-d", appName: "Gone" }),
    ];
    const truth = groundTruth(events, window, { daily: true });
    expect(truth.apps).toEqual([
      {
        appId: "app-c",
        appName: null,
        environmentId: "env-1",
        launches: 1,
        uniqueUsers: 1,
        lastLaunchedAt: "2026-05-19T00:00:00.000Z",
        lastLaunchedBy: "Ann@contoso.com",
        deleted: false,
      },
      {
        appId: "app-d",
        appName: "Gone",
        environmentId: "env-1",
        launches: 0,
        uniqueUsers: 0,
        lastLaunchedAt: null,
        lastLaunchedBy: null,
        deleted: true,
      },
    ]);
    expect(truth.daily).toEqual([{ date: "2026-05-19", launches: 1 }]);
  });

  it("with asOf, leaves out records not yet listed", () => {
    const events = [
      e({ id: "early" }),
      e({ id: "late", firstListedAtMs: Date.parse("2026-05-19T20:00:00Z") }),
    ];
    expect(
      groundTruth(events, window, { asOf: new Date("2026-05-19T12:00:00Z") }).apps[0].launches,
    ).toBe(1);
    expect(groundTruth(events, window).apps[0].launches).toBe(2);
  });
});

describe("inactiveApps semantics (the report's all-time list)", () => {
  const DAY = 86_400_000;
  const to = new Date("2026-05-20T00:00:00Z");
  const seenFrom = new Date("2026-05-10T00:00:00Z");
  let n = 0;
  const ev = (appId: string | null, daysBefore: number, over: Partial<TenantEvent> = {}) =>
    ({
      id: `00000000-0000-4000-8000-${String(++n).padStart(12, "0")}`,
      timeMs: to.getTime() - daysBefore * DAY,
      operation: "LaunchPowerApp",
      organizationId: "org",
      userObjectId: "u",
      upn: "Ann@contoso.com",
      appId,
      appName: `Name ${appId}`,
      environmentId: "env-1",
      legacy: false,
      availableAtMs: to.getTime() - daysBefore * DAY + 3_600_000,
      firstListedAtMs: to.getTime() - daysBefore * DAY + 4_000_000,
      ...over,
    }) as TenantEvent;

  it("lists apps seen, not deleted, last launched at or before to - staleDays, longest idle first", () => {
    const events = [
      ev("active", 8),
      ev("active", 1),
      ev("idle5", 6),
      ev("idle5", 5, { upn: "LAST@contoso.com" }),
      ev("idle8", 8, { legacy: true }),
      ev("edge", 3),
      ev("deleted", 9),
      ev("deleted", 4, { operation: "DeletePowerApp" }),
      ev("before-seen", 12),
      ev("after-to", 6),
      ev("after-to", -0.5),
      ev(null, 9),
    ];
    const list = inactiveApps(events, { seenFrom, to, staleDays: 3 });
    // Records at or after `to` are not seen (the client synced [seenFrom, to)), nor before seenFrom.
    expect(list.map((a) => a.appId)).toEqual(["idle8", "after-to", "idle5", "edge"]);
    expect(list[2]).toEqual({
      appId: "idle5",
      appName: "Name idle5",
      environmentId: "env-1",
      lastLaunchedAt: new Date(to.getTime() - 5 * DAY).toISOString(),
      lastLaunchedBy: "LAST@contoso.com",
    });
    // Legacy records carry no name.
    expect(list[0].appName).toBeNull();
    expect(inactiveApps(events, { seenFrom, to, staleDays: 6 }).map((a) => a.appId)).toEqual([
      "idle8",
      "after-to",
    ]);
  });

  it("respects asOf and rejects bad queries", () => {
    const events = [ev("a", 5, { firstListedAtMs: to.getTime() + DAY })];
    expect(inactiveApps(events, { seenFrom, to, staleDays: 3 })).toHaveLength(1);
    expect(inactiveApps(events, { seenFrom, to, staleDays: 3, asOf: to })).toEqual([]);
    expect(() => inactiveApps(events, { seenFrom: to, to: seenFrom, staleDays: 3 })).toThrow(
      /seenFrom <= to/,
    );
    expect(() => inactiveApps(events, { seenFrom, to, staleDays: 0 })).toThrow(/staleDays/);
  });
});
