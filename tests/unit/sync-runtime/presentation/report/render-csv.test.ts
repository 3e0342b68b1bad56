import { parse } from "csv-parse/sync";
import { describe, expect, it } from "vitest";
import { renderReport } from "../../../../../sync-runtime/src/presentation/report/render";
import type { AppUsage, UsageReport } from "../../../../../sync-runtime/src/domain/usage-report";
import { HOSTILE_NAMES, generateReport } from "./report-fixture";

const FORMULA_START = /^[=+\-@\t\r]/;

/** Turns a parsed CSV row back into the JSON shape, the way Power BI would type the columns. */
function fromCsvRow(row: Record<string, string>): AppUsage {
  const text = (value: string | undefined) => (value === undefined || value === "" ? null : value);
  return {
    appId: row.appId ?? "",
    appName: text(row.appName),
    environmentId: text(row.environmentId),
    launches: Number(row.launches),
    uniqueUsers: Number(row.uniqueUsers),
    lastLaunchedAt: text(row.lastLaunchedAt),
    lastLaunchedBy: text(row.lastLaunchedBy),
    deleted: row.deleted === "true",
  };
}

/** What the CSV must hold for a name: the name itself, or the name behind an apostrophe. */
function guarded(value: string | null): string | null {
  return value !== null && FORMULA_START.test(value) ? `'${value}` : value;
}

function parseCsv(csv: string): Record<string, string>[] {
  return parse(csv, {
    bom: true,
    columns: true,
    skip_empty_lines: true,
    relax_column_count: false,
  });
}

describe("renderReport csv", () => {
  const report: UsageReport = generateReport({ seed: 11, extraNames: HOSTILE_NAMES });

  it("has a header row of the JSON field names", () => {
    const csv = renderReport(report, "csv");
    const header = csv.replace(/^\uFEFF/, "").split("\r\n")[0];
    const jsonApp = (JSON.parse(renderReport(report, "json")) as UsageReport).apps[0];
    expect(header).toBe(Object.keys(jsonApp ?? {}).join(","));
  });

  it("parses back with csv-parse to the JSON figures", () => {
    const rows = parseCsv(renderReport(report, "csv")).map(fromCsvRow);
    const json = JSON.parse(renderReport(report, "json")) as UsageReport;
    expect(rows).toHaveLength(json.apps.length);
    expect(rows).toEqual(
      json.apps.map((app) => ({
        ...app,
        appName: guarded(app.appName),
        lastLaunchedBy: guarded(app.lastLaunchedBy),
      })),
    );
    // The figures Power BI would sum match the JSON's.
    const sum = (apps: AppUsage[]) => apps.reduce((total, app) => total + app.launches, 0);
    expect(sum(rows)).toBe(sum(json.apps));
  });

  it("quotes fields with commas, quotes or line breaks (RFC 4180) and ends records with CRLF", () => {
    const csv = renderReport(report, "csv");
    const tricky = report.apps.find((app) => app.appName?.includes("\n"));
    expect(tricky?.appName).toBeDefined();
    const expectedField = `"${(tricky?.appName ?? "").replace(/"/g, '""')}"`;
    expect(csv).toContain(`,${expectedField},`);
    // Outside quoted fields every line break is CRLF: strip quoted fields, then look for bare LF.
    const unquoted = csv.replace(/"(?:[^"]|"")*"/g, "");
    expect(unquoted).not.toMatch(/[^\r]\n/);
    expect(csv.endsWith("\r\n")).toBe(true);
    expect(csv.split("\r\n").length - 1).toBeGreaterThanOrEqual(report.apps.length + 1);
  });

  it("starts with a UTF-8 byte order mark so Excel reads international names correctly", () => {
    const csv = renderReport(generateReport({ seed: 12, extraNames: ["経費精算 Café"] }), "csv");
    expect(csv.charCodeAt(0)).toBe(0xfeff);
    expect(parseCsv(csv).some((row) => row.appName === "経費精算 Café")).toBe(true);
  });

  it("never lets a text cell start with a spreadsheet formula character", () => {
    const rows = parseCsv(renderReport(report, "csv"));
    const formulaNames = HOSTILE_NAMES.filter((name) => FORMULA_START.test(name));
    expect(formulaNames.length).toBeGreaterThan(0);
    for (const row of rows) {
      for (const [column, value] of Object.entries(row)) {
        expect(FORMULA_START.test(value), `${column} = ${value}`).toBe(false);
      }
    }
    for (const name of formulaNames) {
      expect(rows.some((row) => row.appName === `'${name}`)).toBe(true);
    }
  });

  it("renders an empty window as a header row only", () => {
    const empty: UsageReport = { from: report.from, to: report.to, apps: [] };
    expect(parseCsv(renderReport(empty, "csv"))).toEqual([]);
    expect(renderReport(empty, "csv").split("\r\n")).toHaveLength(2);
  });
});
