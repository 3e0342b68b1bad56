import { describe, expect, it } from "vitest";
import { renderReport } from "../../../../../sync-runtime/src/presentation/report/render";
import type { AppUsage, UsageReport } from "../../../../../sync-runtime/src/domain/usage-report";
import { generateReport, withInactiveApps } from "./report-fixture";

const DAY_MS = 24 * 60 * 60 * 1000;

// The test's own notion of terminal width, limited to the scripts used in its names: CJK and
// Hangul take two cells, combining accents none, everything else one.
function cellsOf(text: string): string[] {
  const cells: string[] = [];
  for (const char of text) {
    if (/\p{M}/u.test(char)) {
      cells[cells.length - 1] += char;
    } else if (
      /[\p{Script=Han}\p{Script=Hangul}\p{Script=Hiragana}\p{Script=Katakana}]/u.test(char)
    ) {
      cells.push(char, "");
    } else {
      cells.push(char);
    }
  }
  return cells;
}

const WIDE_NAMES = [
  "経費精算アプリ",
  "재고 관리 시스템",
  "Crème brûlée orders",
  "Cafe\u0301 menu (combining accent)",
  "Übersicht Aufträge",
  "A very long application name that goes on well past forty cells",
  "\u001b[31mred\u001b[0m and\r\nnewline",
];

/** Splits a table line into cell values using the dashes of the rule line as column spans. */
function columnsOf(line: string, spans: Array<[number, number]>): string[] {
  const cells = cellsOf(line);
  return spans.map(([start, end]) => cells.slice(start, end).join("").trim());
}

function parseTable(text: string) {
  const lines = text.split("\n");
  const ruleIndex = lines.findIndex((line) => /^-+( +-+)+$/.test(line));
  const rule = lines[ruleIndex] ?? "";
  const spans: Array<[number, number]> = [];
  for (const match of rule.matchAll(/-+/g))
    spans.push([match.index, match.index + match[0].length]);
  const header = columnsOf(lines[ruleIndex - 1] ?? "", spans);
  const rows: string[][] = [];
  for (const line of lines.slice(ruleIndex + 1)) {
    if (line === "") break;
    rows.push(columnsOf(line, spans));
  }
  return { lines, ruleIndex, spans, header, rows };
}

describe("renderReport table", () => {
  const report: UsageReport = generateReport({ seed: 21, extraNames: WIDE_NAMES });
  const text = renderReport(report, "table");
  const table = parseTable(text);

  it("has a header and one row per app, in the report's order (by launches)", () => {
    expect(table.header).toEqual([
      "#",
      "App",
      "App id",
      "Environment",
      "Launches",
      "Users",
      "Last launch (UTC)",
      "Last launched by",
      "Deleted",
    ]);
    expect(table.rows.map((row) => row[2])).toEqual(report.apps.map((app) => app.appId));
    const launches = table.rows.map((row) => Number((row[4] ?? "").replace(/,/g, "")));
    expect(launches).toEqual([...launches].sort((a, b) => b - a));
  });

  it("aligns every column, wide and combining characters included", () => {
    // Between two columns every line has blanks in the gap, and no line is longer than the rule.
    const body = table.lines.slice(table.ruleIndex - 1, table.ruleIndex + 1 + report.apps.length);
    const ruleWidth = cellsOf(table.lines[table.ruleIndex] ?? "").length;
    for (const line of body) {
      const cells = cellsOf(line);
      expect(cells.length, line).toBeLessThanOrEqual(ruleWidth);
      for (let i = 1; i < table.spans.length; i++) {
        const gap = cells.slice(table.spans[i - 1]?.[1], table.spans[i]?.[0]).join("");
        expect(gap.trim(), `gap ${i} in: ${line}`).toBe("");
      }
    }
    // Numbers are right-aligned: each ends exactly at its column's right edge.
    const launchesEnd = table.spans[4]?.[1] ?? 0;
    for (const line of body.slice(2)) expect(cellsOf(line)[launchesEnd - 1]).toMatch(/\d/);
  });

  it("shows each app's figures, readable UTC dates and — for nulls", () => {
    report.apps.forEach((app: AppUsage, index) => {
      const row = table.rows[index] ?? [];
      const shownName = row[1] ?? "";
      if (app.appName === null) expect(shownName).toBe("—");
      else if (shownName.endsWith("…"))
        expect(app.appName.startsWith(shownName.slice(0, -1))).toBe(true);
      else if (!/[\u0000-\u001f]/.test(app.appName)) expect(shownName).toBe(app.appName);
      expect(row[3]).toBe(app.environmentId ?? "—");
      expect(row[4]).toBe(app.launches.toLocaleString("en-US"));
      expect(row[5]).toBe(app.uniqueUsers.toLocaleString("en-US"));
      expect(row[6]).toBe(app.lastLaunchedAt?.slice(0, 16).replace("T", " ") ?? "—");
      expect(row[7]).toBe(app.lastLaunchedBy ?? "—");
      expect(row[8]).toBe(app.deleted ? "yes" : "no");
    });
    expect(report.apps.some((app) => app.appName === null)).toBe(true);
    expect(report.apps.some((app) => app.lastLaunchedAt === null)).toBe(true);
  });

  it("cuts very long names to 40 cells with an ellipsis", () => {
    const longRow = table.rows.find((row) => row[1]?.startsWith("A very long"));
    expect(longRow?.[1]?.endsWith("…")).toBe(true);
    expect(cellsOf(longRow?.[1] ?? "").length).toBeLessThanOrEqual(40);
  });

  it("keeps escape sequences and line breaks from names out of the terminal", () => {
    expect(text).not.toContain("\u001b");
    expect(text).not.toContain("\r");
    expect(text).toContain("\uFFFD[31mred");
  });

  it("ends with a totals line derived from the apps", () => {
    const launches = report.apps.reduce((sum, app) => sum + app.launches, 0);
    const deleted = report.apps.filter((app) => app.deleted).length;
    const cutoff = Date.parse(report.to) - 30 * DAY_MS;
    const stale = report.apps.filter(
      (app) =>
        !app.deleted && app.lastLaunchedAt !== null && Date.parse(app.lastLaunchedAt) <= cutoff,
    ).length;
    expect(stale).toBeGreaterThan(0);
    const lastLine = text.trimEnd().split("\n").at(-1);
    expect(lastLine).toBe(
      `Total: ${report.apps.length} apps, ${launches.toLocaleString("en-US")} launches, ` +
        `${deleted} deleted, ${stale} not launched for 30+ days`,
    );
    expect(text.split("\n")[0]).toContain(
      `${report.from.slice(0, 10)} 00:00 UTC to ${report.to.slice(0, 10)} 00:00 UTC`,
    );
  });

  it("leaves the stale count out when the window is shorter than the stale threshold", () => {
    const week = generateReport({ seed: 22, days: 7 });
    const lastLine = renderReport(week, "table", { staleDays: 30 }).trimEnd().split("\n").at(-1);
    expect(lastLine).toMatch(/^Total: \d+ apps, [\d,]+ launches, \d+ deleted$/);
  });

  it("says so when the window has no apps", () => {
    const empty = renderReport({ from: report.from, to: report.to, apps: [] }, "table");
    expect(empty).toContain("No Power Apps launches or deletions in this window.");
    expect(empty).toContain("Total: 0 apps, 0 launches, 0 deleted");
  });
});

describe("renderReport table with inactiveApps", () => {
  const week = generateReport({ seed: 23, days: 7, apps: 5 });

  it("lists the all-time inactive apps by name after the totals, longest idle first", () => {
    const report = withInactiveApps(week, { staleDays: 3, count: 4 });
    const text = renderReport(report, "table");
    const lines = text.trimEnd().split("\n");
    const heading = lines.indexOf("Not launched for 3 days (all time, longest idle first):");
    expect(heading).toBeGreaterThan(0);
    // The totals count them although the window (7 days) only holds active apps.
    expect(lines[heading - 2]).toMatch(
      new RegExp(`^Total: .*, ${report.inactiveApps.length} not launched for 3\\+ days$`),
    );
    const listed = lines.slice(heading + 1);
    expect(listed).toHaveLength(report.inactiveApps.length);
    report.inactiveApps.forEach((app, i) => {
      const line = listed[i];
      expect(line.startsWith(`  ${app.appName ?? app.appId}: `), line).toBe(true);
      if (app.lastLaunchedAt === null) {
        expect(line).toMatch(/: never launched$/);
      } else {
        const idle = Math.floor((Date.parse(report.to) - Date.parse(app.lastLaunchedAt)) / DAY_MS);
        expect(line).toContain(
          `last launch ${app.lastLaunchedAt.slice(0, 16).replace("T", " ")} UTC`,
        );
        expect(line).toContain(` by ${app.lastLaunchedBy}, `);
        expect(line).toMatch(new RegExp(`, ${idle} days? ago$`));
      }
    });
  });

  it("counts them but lists at most 20, saying how many more there are", () => {
    const report = withInactiveApps(week, { count: 23 });
    const lines = renderReport(report, "table").trimEnd().split("\n");
    const heading = lines.findIndex((l) => l.startsWith("Not launched for 30 days"));
    expect(lines.slice(heading + 1, -1)).toHaveLength(20);
    expect(lines.at(-1)).toBe("  … and 3 more (see --format html or json)");
  });

  it("says nothing more than a zero count when no app is inactive", () => {
    const text = renderReport({ ...week, staleDays: 30, inactiveApps: [] }, "table");
    expect(text.trimEnd().split("\n").at(-1)).toMatch(/, 0 not launched for 30\+ days$/);
    expect(text).not.toContain("longest idle first");
  });

  it("keeps terminal escapes in inactive app names out of the terminal", () => {
    const report = withInactiveApps(week, { count: 3, extraNames: ["\u001b[31mred\r\nnext"] });
    const text = renderReport(report, "table");
    expect(text).not.toContain("\u001b");
    expect(text).not.toContain("\r");
    expect(text).toContain("\uFFFD[31mred");
  });
});
