import type { PowerAppEvent } from "./records";
import type { AppUsage, DailyLaunches, UsageReport } from "./usage-report";

/** One stored launch or delete, as the usage tables hold it: the event without its schema. */
export type EventRow = Omit<PowerAppEvent, "schema" | "userKey">;

interface AppAccumulator {
  appId: string;
  launchIds: Set<string>;
  users: Set<string>;
  lastLaunch?: EventRow;
  latestNamed?: EventRow;
  latestWithEnvironment?: EventRow;
  deleted: boolean;
}

/** Later record first: by CreationTime, ties broken by the greater record Id (the contract's rule). */
function isLater(a: EventRow, b: EventRow | undefined): boolean {
  if (!b) return true;
  if (a.creationTime !== b.creationTime) return a.creationTime > b.creationTime;
  return a.recordId > b.recordId;
}

/**
 * The usage report for [from, to) on CreationTime, exactly as sync-runtime/src/domain/usage-report.ts
 * defines it. Input rows may repeat (the same record stored twice); they count once per Id.
 */
export function aggregateUsage(
  rows: Iterable<EventRow>,
  window: { from: Date; to: Date },
): UsageReport {
  const from = window.from.toISOString();
  const to = window.to.toISOString();
  const apps = new Map<string, AppAccumulator>();
  const daily = new Map<string, Set<string>>();
  for (const day of daysOf(window.from, window.to)) daily.set(day, new Set());
  const seen = new Set<string>();

  for (const row of rows) {
    if (row.creationTime < from || row.creationTime >= to) continue;
    const key = `${row.kind}:${row.recordId}`;
    if (seen.has(key)) continue;
    seen.add(key);
    let app = apps.get(row.appId);
    if (!app) {
      app = { appId: row.appId, launchIds: new Set(), users: new Set(), deleted: false };
      apps.set(row.appId, app);
    }
    if (row.appName && isLater(row, app.latestNamed)) app.latestNamed = row;
    if (row.environmentId && isLater(row, app.latestWithEnvironment))
      app.latestWithEnvironment = row;
    if (row.kind === "delete") {
      app.deleted = true;
      continue;
    }
    app.launchIds.add(row.recordId);
    if (row.userUpn) app.users.add(row.userUpn.toLowerCase());
    if (isLater(row, app.lastLaunch)) app.lastLaunch = row;
    daily.get(row.creationTime.slice(0, 10))?.add(row.recordId);
  }

  const list: AppUsage[] = [...apps.values()].map((a) => ({
    appId: a.appId,
    appName: a.latestNamed?.appName ?? null,
    environmentId: a.latestWithEnvironment?.environmentId ?? null,
    launches: a.launchIds.size,
    uniqueUsers: a.users.size,
    lastLaunchedAt: a.lastLaunch ? new Date(a.lastLaunch.creationTime).toISOString() : null,
    lastLaunchedBy: a.lastLaunch?.userUpn ?? null,
    deleted: a.deleted,
  }));
  list.sort(byLaunchesThenAppId);
  const days: DailyLaunches[] = [...daily.entries()].map(([date, ids]) => ({
    date,
    launches: ids.size,
  }));
  return { from, to, apps: list, daily: days };
}

/** The UTC days (YYYY-MM-DD) that [from, to) touches. */
/** The report's app order, whichever way it was computed: most launches first, then app id. */
export function byLaunchesThenAppId(x: AppUsage, y: AppUsage): number {
  if (x.launches !== y.launches) return y.launches - x.launches;
  return x.appId < y.appId ? -1 : x.appId > y.appId ? 1 : 0;
}

export function daysOf(from: Date, to: Date): string[] {
  const days: string[] = [];
  if (to <= from) return days;
  const start = Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate());
  // Bounded by the window length: one iteration per day.
  for (let t = start; t < to.getTime(); t += 86_400_000) {
    days.push(new Date(t).toISOString().slice(0, 10));
  }
  return days;
}
