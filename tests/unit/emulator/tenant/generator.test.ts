import { describe, expect, it } from "vitest";
import { DEFAULT_CONTENT, DEFAULT_TENANT } from "../../emulator/options";
import {
  generateTenant,
  type GenerateInput,
  type TenantEvent,
} from "../../emulator/tenant/generator";
import { groundTruth, inactiveApps } from "../../emulator/tenant/ground-truth";
import { noiseRecord, powerAppsRecord } from "../../emulator/tenant/records";

const ANCHOR = Date.parse("2026-05-20T12:00:00Z");
const MIN = 60_000;

function input(overrides: Partial<GenerateInput> = {}, tenant = {}, content = {}): GenerateInput {
  return {
    seed: "tenant-test",
    anchorMs: ANCHOR,
    tenant: { ...DEFAULT_TENANT, launchesPerDay: 150, ...tenant },
    content: { ...DEFAULT_CONTENT, duplicateShare: 0.05, ...content },
    ...overrides,
  };
}

describe("generateTenant", () => {
  it("is deterministic by seed", () => {
    const a = generateTenant(input());
    const b = generateTenant(input());
    expect(b.events).toEqual(a.events);
    expect([...b.blobsById.keys()]).toEqual([...a.blobsById.keys()]);
    expect([b.tenantId, b.clientId, b.clientSecret]).toEqual([
      a.tenantId,
      a.clientId,
      a.clientSecret,
    ]);
    const c = generateTenant(input({ seed: "another" }));
    expect(c.tenantId).not.toBe(a.tenantId);
    expect(c.events.map((e) => e.id)).not.toEqual(a.events.map((e) => e.id));
  });

  it("spans [anchor - days, anchor + futureDays) with launches, deletes, both schemas and unparsed records", () => {
    const t = generateTenant(input({}, { unparsedShare: 0.02 }));
    expect(t.timelineStartMs).toBe(ANCHOR - 7 * 86_400_000);
    expect(t.timelineEndMs).toBe(ANCHOR + 7 * 86_400_000);
    for (const e of t.events) {
      expect(e.timeMs).toBeGreaterThanOrEqual(t.timelineStartMs);
      expect(e.timeMs).toBeLessThan(t.timelineEndMs);
      expect(e.timeMs % 1000).toBe(0);
    }
    const launches = t.events.filter((e) => e.operation === "LaunchPowerApp");
    const legacyShare = launches.filter((e) => e.legacy).length / launches.length;
    expect(legacyShare).toBeGreaterThan(0.15);
    expect(legacyShare).toBeLessThan(0.35);
    expect(launches.some((e) => e.appId === null)).toBe(true);
    const deletes = t.events.filter((e) => e.operation === "DeletePowerApp");
    expect(deletes).toHaveLength(DEFAULT_TENANT.deletes);
    for (const d of deletes) {
      const after = launches.filter((e) => e.appId === d.appId && e.timeMs > d.timeMs);
      expect(after).toEqual([]);
    }
  });

  it("writes one user's UPN with varying case", () => {
    const t = generateTenant(input());
    const byLower = new Map<string, Set<string>>();
    for (const e of t.events) {
      const set = byLower.get(e.upn.toLowerCase()) ?? new Set();
      set.add(e.upn);
      byLower.set(e.upn.toLowerCase(), set);
    }
    expect([...byLower.values()].some((forms) => forms.size > 1)).toBe(true);
    expect(byLower.size).toBeLessThanOrEqual(DEFAULT_TENANT.users);
  });

  it("makes records available 60-90 minutes after the event, a few up to 12 hours", () => {
    const t = generateTenant(input());
    const delays = t.events.map((e) => (e.availableAtMs - e.timeMs) / MIN);
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(60);
    expect(Math.max(...delays)).toBeLessThanOrEqual(12 * 60);
    const usual = delays.filter((d) => d <= 90).length / delays.length;
    expect(usual).toBeGreaterThan(0.9);
    expect(usual).toBeLessThan(1);
  });

  it("puts every event in a blob created after it became available, some in two blobs", () => {
    const t = generateTenant(input({}, {}, { maxRecordsPerBlob: 4 }));
    const general = t.blobs.get("Audit.General")!;
    const seen = new Map<string, number>();
    for (const b of general) {
      expect(b.events.length).toBeLessThanOrEqual(4);
      expect(b.listedAtMs).toBeGreaterThanOrEqual(b.createdMs);
      for (const e of b.events) {
        expect(b.createdMs).toBeGreaterThanOrEqual(e.availableAtMs);
        seen.set(e.id, (seen.get(e.id) ?? 0) + 1);
      }
    }
    expect(seen.size).toBe(t.events.length);
    expect([...seen.values()].some((n) => n > 1)).toBe(true);
    expect(general.some((b) => b.listedAtMs > b.createdMs)).toBe(true);
    for (const ct of [
      "Audit.SharePoint",
      "Audit.Exchange",
      "Audit.AzureActiveDirectory",
      "DLP.All",
    ]) {
      const blobs = t.blobs.get(ct)!;
      expect(blobs.length).toBeGreaterThan(0);
      expect(blobs.every((b) => b.events.length === 0 && b.noiseCount > 0)).toBe(true);
    }
  });
});

describe("abandoned apps", () => {
  const DAY = 86_400_000;

  it("stop being launched 4-6 days before the start, are not deleted, and had launches before", () => {
    const t = generateTenant(input({}, { days: 21, apps: 12, abandonedApps: 3 }));
    const abandoned = t.apps.filter((a) => a.abandonedAtMs !== null);
    expect(abandoned).toHaveLength(3);
    for (const app of abandoned) {
      const at = app.abandonedAtMs!;
      expect(app.deletedAtMs).toBeNull();
      expect(at).toBeGreaterThanOrEqual(ANCHOR - 6 * DAY);
      expect(at).toBeLessThanOrEqual(ANCHOR - 4 * DAY);
      const launches = t.events.filter((e) => e.appId === app.id);
      expect(launches.filter((e) => e.timeMs >= at)).toEqual([]);
      // Popular enough to have been launched in the days before (what a client sees, then idle).
      expect(launches.filter((e) => e.timeMs >= ANCHOR - 7 * DAY).length).toBeGreaterThan(0);
    }
    // The most popular app is never abandoned.
    expect(t.apps[0].abandonedAtMs).toBeNull();
  });

  it("are chosen by seed from their own stream: apps, users and deletions stay the same", () => {
    const without = generateTenant(input({}, { abandonedApps: 0 }));
    const withTwo = generateTenant(input({}, { abandonedApps: 2 }));
    const again = generateTenant(input({}, { abandonedApps: 2 }));
    expect(without.apps.every((a) => a.abandonedAtMs === null)).toBe(true);
    expect(withTwo.apps.filter((a) => a.abandonedAtMs !== null)).toHaveLength(2);
    expect(again.apps).toEqual(withTwo.apps);
    const strip = (apps: typeof without.apps) => apps.map(({ abandonedAtMs: _a, ...app }) => app);
    expect(strip(withTwo.apps)).toEqual(strip(without.apps));
    expect(withTwo.users).toEqual(without.users);
  });

  it("fall inside a history shorter than a week, and are fewer when the tenant has few apps", () => {
    const short = generateTenant(input({}, { days: 2, apps: 4, deletes: 0, abandonedApps: 5 }));
    const abandoned = short.apps.filter((a) => a.abandonedAtMs !== null);
    // Candidates: the more popular half without the top app.
    expect(abandoned).toHaveLength(1);
    const at = abandoned[0].abandonedAtMs!;
    expect(at).toBeGreaterThanOrEqual(ANCHOR - 0.7 * 2 * DAY);
    expect(at).toBeLessThanOrEqual(ANCHOR - 0.4 * 2 * DAY);
  });
});

describe("record bodies", () => {
  const base = {
    id: "e2a84675-8952-4d91-a2ea-4d89f310f1a7",
    timeMs: Date.parse("2026-05-19T13:17:34Z"),
    operation: "LaunchPowerApp" as const,
    organizationId: "33333333-3333-3333-3333-333333333333",
    userObjectId: "7ff1e0f1-e2a4-48a0-874e-34db43893df1",
    upn: "AmberR@CONTOSO.OnMicrosoft.com",
    appId: "6c39e97c-6ddd-4a37-afd4-494a605925cf",
    appName: "TestEmptyApp",
    environmentId: "aa289efd-09f4-eaeb-bbb8-c08fc9e27d09",
    legacy: false,
  };

  it("writes the current schema as RecordType 256 with a PropertyCollection", () => {
    const r = powerAppsRecord(base, "s") as Record<string, unknown> & {
      PropertyCollection: { Name: string; Value: string }[];
    };
    expect(r).toMatchObject({
      Id: base.id,
      RecordType: 256,
      CreationTime: "2026-05-19T13:17:34",
      Operation: "LaunchPowerApp",
      Workload: "PowerPlatform",
      UserId: base.upn,
      UserKey: base.userObjectId,
      EnvironmentId: base.environmentId,
    });
    const props = Object.fromEntries(r.PropertyCollection.map((p) => [p.Name, p.Value]));
    expect(props).toMatchObject({
      "powerplatform.analytics.resource.power_app.id": base.appId,
      "powerplatform.analytics.resource.power_app.display_name": "TestEmptyApp",
      "powerplatform.analytics.resource.environment.id": base.environmentId,
      "enduser.principal_name": base.upn,
    });
    const unparsed = powerAppsRecord({ ...base, appId: null }, "s") as {
      PropertyCollection: { Name: string }[];
    };
    expect(unparsed.PropertyCollection.map((p) => p.Name)).not.toContain(
      "powerplatform.analytics.resource.power_app.id",
    );
  });

  it("writes the older schema as RecordType 45 with AppName and EnvironmentName", () => {
    const r = powerAppsRecord({ ...base, legacy: true }, "s");
    expect(r).toMatchObject({
      RecordType: 45,
      Workload: "PowerApps",
      AppName: base.appId,
      EnvironmentName: base.environmentId,
    });
    expect(r).not.toHaveProperty("PropertyCollection");
    expect(powerAppsRecord({ ...base, legacy: true, appId: null }, "s")).not.toHaveProperty(
      "AppName",
    );
  });

  it("generates noise deterministically from the blob and index alone", () => {
    const a = noiseRecord("s", "Audit.SharePoint", "blob-1", 3, ANCHOR, "org", "contoso.com");
    expect(noiseRecord("s", "Audit.SharePoint", "blob-1", 3, ANCHOR, "org", "contoso.com")).toEqual(
      a,
    );
    expect(
      noiseRecord("s", "Audit.SharePoint", "blob-1", 4, ANCHOR, "org", "contoso.com"),
    ).not.toEqual(a);
    expect(a.Workload === "SharePoint" || a.Workload === "OneDrive").toBe(true);
  });
});

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
