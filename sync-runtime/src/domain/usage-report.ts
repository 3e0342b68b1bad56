/**
 * The usage report contract: `report --format json` prints exactly this shape, and every other
 * format (table, csv, html) is rendered from it. The emulator's ground truth uses the same field
 * names and meanings (it re-declares them: the emulator never imports runtime code).
 *
 * Semantics, for a window [from, to) on the records' CreationTime (UTC):
 * - an app is listed when it has at least one LaunchPowerApp or DeletePowerApp record in the window;
 * - launches: distinct LaunchPowerApp record Ids;
 * - uniqueUsers: distinct launching user principal names, compared case-insensitively;
 * - lastLaunchedAt / lastLaunchedBy: the latest launch (ties broken by the greater record Id),
 *   its UPN as written in the record; null when the app has no launch in the window;
 * - deleted: a DeletePowerApp record for the app lies in the window;
 * - appName: display name from the latest record of the app that carries one, else null;
 * - apps sorted by launches (descending), then appId (ascending).
 * Times are ISO 8601 UTC as produced by Date.prototype.toISOString().
 * `apps` and `daily` are about the window only; `inactiveApps` (optional) is about all time.
 */
export interface AppUsage {
  appId: string;
  appName: string | null;
  environmentId: string | null;
  launches: number;
  uniqueUsers: number;
  lastLaunchedAt: string | null;
  lastLaunchedBy: string | null;
  deleted: boolean;
}

/** Launches per UTC day in the window (for the dashboard's chart); absent in ground truth. */
export interface DailyLaunches {
  date: string; // YYYY-MM-DD
  launches: number;
}

/**
 * An app nobody has launched for `staleDays` days, from the runtime's all-time per-app state (the
 * `apps` table), NOT from the report window:
 * - listed: every app the runtime has ever seen (a launch or delete record of it was synced), not
 *   deleted (no DeletePowerApp record synced), whose latest launch ever synced is at or before
 *   `to − staleDays` days, or that was never launched (seen only through records without one);
 * - lastLaunchedAt / lastLaunchedBy: that latest launch (ties broken by the greater record Id), its
 *   UPN as written in the record; null when never launched;
 * - appName: from the latest record of the app that carries one, else null; environmentId: the
 *   app's environment as recorded, else null;
 * - sorted longest idle first: never launched first, then by lastLaunchedAt ascending, then appId.
 * "Ever seen" starts when the runtime started syncing (the API serves 7 days back), so an app idle
 * since before then is unknown to it. The list is the state when the report is made: `to` is only
 * the reference time, so a report ending now (the default) gives the intended meaning.
 */
export interface InactiveApp {
  appId: string;
  appName: string | null;
  environmentId: string | null;
  lastLaunchedAt: string | null;
  lastLaunchedBy: string | null;
}

export interface UsageReport {
  from: string;
  to: string;
  apps: AppUsage[];
  daily?: DailyLaunches[];
  /** The N of "not launched for N days" that inactiveApps was computed with; with inactiveApps. */
  staleDays?: number;
  /** All-time inactive apps (see InactiveApp); absent when the report was made without them. */
  inactiveApps?: InactiveApp[];
}
