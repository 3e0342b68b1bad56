import { describe, expect, it } from "vitest";
import { UsageError } from "../../../../../sync-runtime/src/core/errors";
import { renderReport } from "../../../../../sync-runtime/src/presentation/report/render";
import type { UsageReport } from "../../../../../sync-runtime/src/domain/usage-report";
import { generateReport, withInactiveApps } from "./report-fixture";

const APP_KEYS = [
  "appId",
  "appName",
  "environmentId",
  "launches",
  "uniqueUsers",
  "lastLaunchedAt",
  "lastLaunchedBy",
  "deleted",
];

describe("renderReport json", () => {
  it("parses back to the report it was rendered from", () => {
    const report = generateReport({ seed: 7 });
    expect(JSON.parse(renderReport(report, "json"))).toEqual(report);
  });

  it("uses the contract's key order, 2-space indent and a trailing newline", () => {
    const report = generateReport({ seed: 8, withDaily: false });
    // Build each app with its keys reversed: the output order must not depend on the input's.
    const shuffled: UsageReport = {
      apps: report.apps.map(
        (app) => Object.fromEntries(Object.entries(app).reverse()) as unknown as typeof app,
      ),
      to: report.to,
      from: report.from,
    };
    const json = renderReport(shuffled, "json");
    const parsed = JSON.parse(json) as UsageReport;
    expect(Object.keys(parsed)).toEqual(["from", "to", "apps"]);
    for (const app of parsed.apps) expect(Object.keys(app)).toEqual(APP_KEYS);
    expect(json.endsWith("}\n")).toBe(true);
    expect(json.split("\n")[1]).toBe(`  "from": ${JSON.stringify(report.from)},`);
    expect(json).toBe(renderReport(report, "json"));
  });

  it("keeps daily figures after apps when present and leaves out fields outside the contract", () => {
    const report = generateReport({ seed: 9 });
    const withExtra = {
      ...report,
      secret: "not in the contract",
      apps: report.apps.map((app) => ({ ...app, internalRowKey: "x" })),
    };
    const parsed = JSON.parse(renderReport(withExtra, "json")) as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual(["from", "to", "apps", "daily"]);
    expect(JSON.stringify(parsed)).not.toContain("internalRowKey");
    expect(parsed.daily).toEqual(report.daily);
  });
});

describe("renderReport json with inactiveApps", () => {
  const INACTIVE_KEYS = ["appId", "appName", "environmentId", "lastLaunchedAt", "lastLaunchedBy"];

  it("puts staleDays and inactiveApps last, in the contract's key order, whatever the input's", () => {
    const report = withInactiveApps(generateReport({ seed: 10 }), { staleDays: 14 });
    const reversed = {
      inactiveApps: report.inactiveApps.map(
        (app) =>
          ({
            ...Object.fromEntries(Object.entries(app).reverse()),
            rowKey: "not in the contract",
          }) as unknown as typeof app,
      ),
      staleDays: report.staleDays,
      daily: report.daily,
      apps: report.apps,
      to: report.to,
      from: report.from,
    };
    const json = renderReport(reversed, "json");
    const parsed = JSON.parse(json) as Required<UsageReport>;
    expect(Object.keys(parsed)).toEqual([
      "from",
      "to",
      "apps",
      "daily",
      "staleDays",
      "inactiveApps",
    ]);
    expect(parsed.inactiveApps.length).toBeGreaterThan(0);
    for (const app of parsed.inactiveApps) expect(Object.keys(app)).toEqual(INACTIVE_KEYS);
    expect(parsed.staleDays).toBe(14);
    expect(parsed.inactiveApps).toEqual(report.inactiveApps);
    expect(json).not.toContain("rowKey");
    expect(json).toBe(renderReport(report, "json"));
  });

  it("keeps an empty inactive list (none is an answer), and omits both fields when absent", () => {
    const report = generateReport({ seed: 11, withDaily: false });
    const none = JSON.parse(renderReport({ ...report, staleDays: 30, inactiveApps: [] }, "json"));
    expect(Object.keys(none)).toEqual(["from", "to", "apps", "staleDays", "inactiveApps"]);
    expect(none.inactiveApps).toEqual([]);
    expect(Object.keys(JSON.parse(renderReport(report, "json")))).toEqual(["from", "to", "apps"]);
  });

  it("leaves the CSV as the window's apps table", () => {
    const report = generateReport({ seed: 12 });
    const csv = renderReport(withInactiveApps(report, { extraNames: ["Only idle"] }), "csv");
    expect(csv).toBe(renderReport(report, "csv"));
    expect(csv).not.toContain("Only idle");
  });
});

describe("renderReport arguments", () => {
  it("rejects an unknown format, naming the formats it accepts", () => {
    const report = generateReport({ seed: 1, apps: 3 });
    expect(() => renderReport(report, "xlsx" as never)).toThrow(/xlsx.*table, json, csv, html/);
    expect(() => renderReport(report, "xlsx" as never)).toThrow(UsageError);
  });

  it("rejects a stale-days value that is not a positive number", () => {
    const report = generateReport({ seed: 1, apps: 3 });
    expect(() => renderReport(report, "html", { staleDays: 0 })).toThrow(/staleDays/);
    expect(() => renderReport(report, "table", { staleDays: Number.NaN })).toThrow(/staleDays/);
  });
});
