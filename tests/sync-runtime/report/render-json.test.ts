import { describe, expect, it } from "vitest";
import { UsageError } from "../../../sync-runtime/src/errors";
import { renderReport } from "../../../sync-runtime/src/report/render";
import type { UsageReport } from "../../../sync-runtime/src/report/usage-report";
import { generateReport } from "./report-fixture";

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
