/**
 * `report --format table`: an aligned plain-text table for a terminal, in the report's order
 * (launches descending, the contract's sort), with a title line, readable UTC dates, "—" for
 * nulls and a totals line, then (when the report carries inactiveApps) the apps not launched for
 * N days, by name. Alignment counts terminal cells, so CJK, emoji and accented names line
 * up; names are made terminal-safe because they come from tenant users.
 */
import {
  NULL_MARK,
  formatCount,
  formatUtcDateTime,
  padToWidth,
  terminalSafe,
  truncateToWidth,
  displayWidth,
} from "./render-text";
import { appLabel, summarizeReport, type StaleApp } from "./render-summary";
import type { AppUsage, UsageReport } from "../../domain/usage-report";

/** Longer app names are cut with "…" so one long name does not push every row off the screen. */
export const TABLE_MAX_NAME_WIDTH = 40;

interface Column {
  header: string;
  align: "left" | "right";
  cell(app: AppUsage, index: number): string;
}

const COLUMNS: readonly Column[] = [
  { header: "#", align: "right", cell: (_app, index) => String(index + 1) },
  {
    header: "App",
    align: "left",
    cell: (app) =>
      app.appName === null
        ? NULL_MARK
        : truncateToWidth(terminalSafe(app.appName), TABLE_MAX_NAME_WIDTH),
  },
  { header: "App id", align: "left", cell: (app) => terminalSafe(app.appId) },
  {
    header: "Environment",
    align: "left",
    cell: (app) => (app.environmentId === null ? NULL_MARK : terminalSafe(app.environmentId)),
  },
  { header: "Launches", align: "right", cell: (app) => formatCount(app.launches) },
  { header: "Users", align: "right", cell: (app) => formatCount(app.uniqueUsers) },
  {
    header: "Last launch (UTC)",
    align: "left",
    cell: (app) =>
      app.lastLaunchedAt === null ? NULL_MARK : formatUtcDateTime(app.lastLaunchedAt, false),
  },
  {
    header: "Last launched by",
    align: "left",
    cell: (app) => (app.lastLaunchedBy === null ? NULL_MARK : terminalSafe(app.lastLaunchedBy)),
  },
  { header: "Deleted", align: "left", cell: (app) => (app.deleted ? "yes" : "no") },
];

const GAP = "  ";

/** The table lists this many inactive apps by name; the rest are counted (html/json list all). */
export const TABLE_MAX_INACTIVE = 20;

function inactiveLine(app: StaleApp): string {
  const name = truncateToWidth(terminalSafe(appLabel(app)), TABLE_MAX_NAME_WIDTH);
  if (app.lastLaunchedAt === null) return `${name}: never launched`;
  const by = app.lastLaunchedBy === null ? "" : ` by ${terminalSafe(app.lastLaunchedBy)}`;
  return (
    `${name}: last launch ${formatUtcDateTime(app.lastLaunchedAt)}${by}, ` +
    `${plural(app.idleDays ?? 0, "day")} ago`
  );
}

function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${formatCount(count)} ${count === 1 ? singular : pluralForm}`;
}

export function renderTable(
  report: UsageReport,
  options: { title: string; staleDays: number },
): string {
  const cells = report.apps.map((app, index) => COLUMNS.map((column) => column.cell(app, index)));
  const widths = COLUMNS.map((column, i) =>
    Math.max(displayWidth(column.header), ...cells.map((row) => displayWidth(row[i] ?? ""))),
  );
  // Trailing spaces on the last column would only make copy-paste untidy.
  const line = (values: readonly string[]) =>
    values
      .map((value, i) => padToWidth(value, widths[i] ?? 0, COLUMNS[i]?.align ?? "left"))
      .join(GAP)
      .trimEnd();

  const summary = summarizeReport(report, options.staleDays);
  const days = Math.round(summary.windowDays * 10) / 10;
  const lines = [
    `${terminalSafe(options.title)}: ${formatUtcDateTime(report.from)} to ${formatUtcDateTime(report.to)} (${plural(days, "day")})`,
    "",
  ];
  if (report.apps.length === 0) {
    lines.push("No Power Apps launches or deletions in this window.");
  } else {
    lines.push(line(COLUMNS.map((column) => column.header)));
    lines.push(line(widths.map((width) => "-".repeat(width))));
    for (const row of cells) lines.push(line(row));
  }
  lines.push("");
  // Unique users are per app: one person using three apps counts in each, so they are not summed.
  // Stale apps are only counted when the window is long enough to show them (see findStaleApps).
  const totals = [
    plural(summary.appCount, "app"),
    plural(summary.totalLaunches, "launch", "launches"),
    `${formatCount(summary.deletedApps.length)} deleted`,
  ];
  const { stale } = summary;
  if (stale.windowCoversCutoff) {
    totals.push(
      `${formatCount(stale.apps.length)} not launched for ${formatCount(stale.staleDays)}+ days`,
    );
  }
  lines.push(`Total: ${totals.join(", ")}`);
  // The all-time list answers "which apps are stale" by name; the window fallback only counts.
  if (stale.source === "all-time" && stale.apps.length > 0) {
    lines.push(
      "",
      `Not launched for ${formatCount(stale.staleDays)} days (all time, longest idle first):`,
    );
    for (const app of stale.apps.slice(0, TABLE_MAX_INACTIVE)) lines.push(`  ${inactiveLine(app)}`);
    const more = stale.apps.length - TABLE_MAX_INACTIVE;
    if (more > 0) lines.push(`  … and ${formatCount(more)} more (see --format html or json)`);
  }
  return `${lines.join("\n")}\n`;
}
