/**
 * Figures derived from a usage report for the human-facing formats (table totals, dashboard
 * summary, charts, stale and deleted lists). Pure: the renderers only lay these out.
 */
import { validateStaleDays } from "../../domain/stale-days";
import type { AppUsage, DailyLaunches, InactiveApp, UsageReport } from "../../domain/usage-report";

const DAY_MS = 24 * 60 * 60 * 1000;

// Filling a chart with empty days is only sensible for windows of plausible size; a report over
// years still charts the days it has, just without the zero days in between.
const MAX_FILLED_DAYS = 366;

/** A stale app as the dashboard and table list it; `launches` only for the window fallback. */
export interface StaleApp extends InactiveApp {
  launches?: number;
  /** Whole days between the last launch and the report's end; null when never launched. */
  idleDays: number | null;
}

export interface StaleApps {
  staleDays: number;
  /** ISO time: apps whose last launch is at or before it are stale. */
  cutoff: string;
  /**
   * "all-time": from the report's inactiveApps (the runtime's all-time app state). "window": the
   * fallback for reports without them, from the apps active in the window.
   */
  source: "all-time" | "window";
  /**
   * False when the list cannot be trusted to be complete: a window-based list over a window
   * shorter than staleDays (a report only holds apps active in its window, so it cannot show an
   * app idle for longer than the window). Always true for the all-time list.
   */
  windowCoversCutoff: boolean;
  apps: StaleApp[];
}

export interface ReportSummary {
  appCount: number;
  totalLaunches: number;
  deletedApps: AppUsage[];
  windowDays: number;
  stale: StaleApps;
}

/** The name people know an app by, falling back to its id when the report has no name. */
export function appLabel(app: { appId: string; appName: string | null }): string {
  return app.appName ?? app.appId;
}

function idleDays(lastLaunchedAt: string | null, toMs: number): number | null {
  return lastLaunchedAt === null ? null : Math.floor((toMs - Date.parse(lastLaunchedAt)) / DAY_MS);
}

/**
 * Stale apps, longest idle first. With the report's inactiveApps (all time, computed with the
 * report's own staleDays, which then wins over the argument) they are listed as they are. Without
 * them, the fallback: non-deleted apps whose latest launch in the window is at least `staleDays`
 * before the window's end. Deleted apps are left out: they are listed as deleted, and "unused" is
 * no news for them.
 */
export function findStaleApps(report: UsageReport, staleDays: number): StaleApps {
  const toMs = Date.parse(report.to);
  if (report.inactiveApps !== undefined) {
    const days = validateStaleDays(report.staleDays ?? staleDays);
    return {
      staleDays: days,
      cutoff: new Date(toMs - days * DAY_MS).toISOString(),
      source: "all-time",
      windowCoversCutoff: true,
      apps: report.inactiveApps.map((app) => ({
        ...app,
        idleDays: idleDays(app.lastLaunchedAt, toMs),
      })),
    };
  }
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
    )
    .map((app) => ({
      appId: app.appId,
      appName: app.appName,
      environmentId: app.environmentId,
      lastLaunchedAt: app.lastLaunchedAt,
      lastLaunchedBy: app.lastLaunchedBy,
      launches: app.launches,
      idleDays: idleDays(app.lastLaunchedAt, toMs),
    }));
  return {
    staleDays,
    cutoff: new Date(cutoffMs).toISOString(),
    source: "window",
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
