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

export interface UsageReport {
  from: string;
  to: string;
  apps: AppUsage[];
  daily?: DailyLaunches[];
}
