import { describe, expect, it } from "vitest";
import { DEFAULT_CONTENT, DEFAULT_TENANT } from "../../../../emulator/options";
import { generateTenant, type GenerateInput } from "../../../../emulator/tenant/generator";

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
