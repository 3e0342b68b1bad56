/**
 * Figures derived from a usage report for the human-facing formats (table totals, dashboard
 * summary, charts, stale and deleted lists). Pure: the renderers only lay these out.
 */
import { UsageError } from "../errors";
import type { AppUsage, DailyLaunches, UsageReport } from "./usage-report";

const DAY_MS = 24 * 60 * 60 * 1000;

/** Default for "apps not launched for N days". */
export const DEFAULT_STALE_DAYS = 30;

// Filling a chart with empty days is only sensible for windows of plausible size; a report over
// years still charts the days it has, just without the zero days in between.
const MAX_FILLED_DAYS = 366;

export interface StaleApps {
  staleDays: number;
  /** ISO time: apps whose last launch is at or before it are stale. */
  cutoff: string;
  /**
   * False when the report window is shorter than staleDays: a report only holds apps active in its
   * window, so it cannot show an app idle for longer than the window.
   */
  windowCoversCutoff: boolean;
  apps: AppUsage[];
}

export interface ReportSummary {
  appCount: number;
  totalLaunches: number;
  deletedApps: AppUsage[];
  windowDays: number;
  stale: StaleApps;
}

/** The name people know an app by, falling back to its id when the report has no name. */
export function appLabel(app: AppUsage): string {
  return app.appName ?? app.appId;
}

export function validateStaleDays(staleDays: number): number {
  if (!Number.isFinite(staleDays) || staleDays <= 0) {
    throw new UsageError(
      `staleDays must be a positive number of days, got ${String(staleDays)}; pass e.g. 30.`,
    );
  }
  return staleDays;
}

/**
 * Non-deleted apps whose latest launch in the window is at least `staleDays` before the window's
 * end, longest idle first. Deleted apps are left out: they are listed as deleted, and "unused" is
 * no news for them.
 */
export function findStaleApps(report: UsageReport, staleDays: number): StaleApps {
  const toMs = Date.parse(report.to);
  const cutoffMs = toMs - validateStaleDays(staleDays) * DAY_MS;
  const apps = report.apps
    .filter(
      (app): app is AppUsage & { lastLaunchedAt: string } =>
        !app.deleted && app.lastLaunchedAt !== null && Date.parse(app.lastLaunchedAt) <= cutoffMs,
    )
    .sort(
      (a, b) =>
        Date.parse(a.lastLaunchedAt) - Date.parse(b.lastLaunchedAt) ||
        (a.appId < b.appId ? -1 : a.appId > b.appId ? 1 : 0),
    );
  return {
    staleDays,
    cutoff: new Date(cutoffMs).toISOString(),
    windowCoversCutoff: Date.parse(report.from) <= cutoffMs,
    apps,
  };
}

export function summarizeReport(report: UsageReport, staleDays: number): ReportSummary {
  return {
    appCount: report.apps.length,
    totalLaunches: report.apps.reduce((sum, app) => sum + app.launches, 0),
    deletedApps: report.apps.filter((app) => app.deleted),
    windowDays: (Date.parse(report.to) - Date.parse(report.from)) / DAY_MS,
    stale: findStaleApps(report, staleDays),
  };
}

/** The report's order (launches desc, appId asc), apps without launches left out. */
export function topAppsByLaunches(report: UsageReport, limit: number): AppUsage[] {
  return report.apps.filter((app) => app.launches > 0).slice(0, limit);
}

/** Apps by unique users (desc), then by the report's own order, apps without users left out. */
export function topAppsByUsers(report: UsageReport, limit: number): AppUsage[] {
  return report.apps
    .map((app, index) => ({ app, index }))
    .filter(({ app }) => app.uniqueUsers > 0)
    .sort((a, b) => b.app.uniqueUsers - a.app.uniqueUsers || a.index - b.index)
    .slice(0, limit)
    .map(({ app }) => app);
}

/**
 * Launches per UTC day for the chart: the report's days, plus zero-launch days of the window so
 * quiet days show as gaps instead of disappearing. Empty when the report has no daily figures.
 */
export function dailySeries(report: UsageReport): DailyLaunches[] {
  if (!report.daily || report.daily.length === 0) return [];
  const byDate = new Map<string, number>();
  for (const day of report.daily) byDate.set(day.date, (byDate.get(day.date) ?? 0) + day.launches);
  const firstDay = Date.parse(report.from.slice(0, 10));
  // `to` is exclusive: a window ending at midnight does not include that day.
  const lastDay = Date.parse(new Date(Date.parse(report.to) - 1).toISOString().slice(0, 10));
  if (
    Number.isFinite(firstDay) &&
    Number.isFinite(lastDay) &&
    (lastDay - firstDay) / DAY_MS < MAX_FILLED_DAYS
  ) {
    for (let day = firstDay; day <= lastDay; day += DAY_MS) {
      const date = new Date(day).toISOString().slice(0, 10);
      if (!byDate.has(date)) byDate.set(date, 0);
    }
  }
  return [...byDate.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([date, launches]) => ({ date, launches }));
}
