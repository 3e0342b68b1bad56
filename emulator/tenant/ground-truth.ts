/**
 * The ground truth: what a correct client must report for a window, computed from the tenant's
 * events with the usage report semantics (sync-runtime/src/domain/usage-report.ts, re-declared
 * here because the emulator never imports runtime code).
 */
import type { TenantEvent } from "./generator";

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

export interface DailyLaunches {
  date: string;
  launches: number;
}

export interface UsageReport {
  from: string;
  to: string;
  apps: AppUsage[];
  daily?: DailyLaunches[];
  /** A client's report may add the all-time inactive apps; groundTruth never does (see inactiveApps). */
  staleDays?: number;
  inactiveApps?: InactiveApp[];
}

export interface TruthWindow {
  from: Date;
  to: Date;
}

export interface TruthOptions {
  /** Count only records a client could have listed by this time. Default: every record. */
  asOf?: Date;
  /** Include launches per UTC day. Default false (the contract leaves it out of ground truth). */
  daily?: boolean;
}

export function eventsInWindow(
  events: readonly TenantEvent[],
  window: TruthWindow,
  asOf?: Date,
): TenantEvent[] {
  const from = window.from.getTime();
  const to = window.to.getTime();
  const asOfMs = asOf?.getTime() ?? Infinity;
  return events.filter((e) => e.timeMs >= from && e.timeMs < to && e.firstListedAtMs <= asOfMs);
}

export function groundTruth(
  events: readonly TenantEvent[],
  window: TruthWindow,
  options: TruthOptions = {},
): UsageReport {
  if (
    !(window.from instanceof Date) ||
    !(window.to instanceof Date) ||
    !(window.from.getTime() <= window.to.getTime())
  )
    throw new Error("groundTruth needs a window { from: Date, to: Date } with from <= to");
  interface Acc {
    usage: AppUsage;
    users: Set<string>;
    lastId: string;
    nameAt: number;
    nameId: string;
    envAt: number;
    envId: string;
  }
  const byApp = new Map<string, Acc>();
  const daily = new Map<string, number>();
  for (const e of eventsInWindow(events, window, options.asOf)) {
    // Records with neither id form are unparsed: never attributed to an app.
    if (e.appId === null) continue;
    let acc = byApp.get(e.appId);
    if (!acc) {
      acc = {
        usage: {
          appId: e.appId,
          appName: null,
          environmentId: null,
          launches: 0,
          uniqueUsers: 0,
          lastLaunchedAt: null,
          lastLaunchedBy: null,
          deleted: false,
        },
        users: new Set(),
        lastId: "",
        nameAt: -Infinity,
        nameId: "",
        envAt: -Infinity,
        envId: "",
      };
      byApp.set(e.appId, acc);
    }
    const u = acc.usage;
    // Only the current schema carries a display name; the latest record that has one wins.
    if (!e.legacy && later(e, acc.nameAt, acc.nameId)) {
      u.appName = e.appName;
      acc.nameAt = e.timeMs;
      acc.nameId = e.id;
    }
    if (later(e, acc.envAt, acc.envId)) {
      u.environmentId = e.environmentId;
      acc.envAt = e.timeMs;
      acc.envId = e.id;
    }
    if (e.operation === "DeletePowerApp") {
      u.deleted = true;
      continue;
    }
    u.launches++;
    acc.users.add(e.upn.toLowerCase());
    const at = u.lastLaunchedAt === null ? -Infinity : Date.parse(u.lastLaunchedAt);
    if (later(e, at, acc.lastId)) {
      u.lastLaunchedAt = new Date(e.timeMs).toISOString();
      u.lastLaunchedBy = e.upn;
      acc.lastId = e.id;
    }
    const day = new Date(e.timeMs).toISOString().slice(0, 10);
    daily.set(day, (daily.get(day) ?? 0) + 1);
  }
  const apps = [...byApp.values()].map((a) => ({ ...a.usage, uniqueUsers: a.users.size }));
  apps.sort(
    (a, b) => b.launches - a.launches || (a.appId < b.appId ? -1 : a.appId > b.appId ? 1 : 0),
  );
  const report: UsageReport = {
    from: window.from.toISOString(),
    to: window.to.toISOString(),
    apps,
  };
  if (options.daily)
    report.daily = [...daily.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([date, launches]) => ({ date, launches }));
  return report;
}

/** Later in time, ties broken by the greater record Id (the contract's rule). */
function later(e: TenantEvent, atMs: number, id: string): boolean {
  return e.timeMs > atMs || (e.timeMs === atMs && e.id > id);
}

/** Launch records in the window that carry neither id form. */
export function unparsedCount(
  events: readonly TenantEvent[],
  window: TruthWindow,
  asOf?: Date,
): number {
  return eventsInWindow(events, window, asOf).filter((e) => e.appId === null).length;
}

/** When the last record of the window is first listed: advance a simulated clock past it to make the window complete. */
export function completeAt(events: readonly TenantEvent[], window: TruthWindow): Date | null {
  let latest = -Infinity;
  for (const e of eventsInWindow(events, window)) latest = Math.max(latest, e.firstListedAtMs);
  return latest === -Infinity ? null : new Date(latest);
}

/** An app nobody launched for staleDays days (the usage report's inactiveApps, re-declared). */
export interface InactiveApp {
  appId: string;
  appName: string | null;
  environmentId: string | null;
  lastLaunchedAt: string | null;
  lastLaunchedBy: string | null;
}

export interface InactiveAppsQuery {
  /** When the client started syncing: it has seen the records created from then on. */
  seenFrom: Date;
  /** The report's end: the reference time for "not launched for staleDays days". */
  to: Date;
  staleDays: number;
  /** Count only records a client could have listed by this time. Default: every record. */
  asOf?: Date;
}

/**
 * What a client that has synced every record created in [seenFrom, to) lists as inactiveApps: the
 * apps it has seen there, not deleted there, whose latest launch there is at or before
 * `to − staleDays` days (or that had no launch there); never launched first, then longest idle,
 * then appId. A real client also sees records created shortly before seenFrom that arrive in later
 * blobs; callers pick staleDays and seenFrom so no app is idle that long (abandoned apps stop
 * inside the week, see TenantOptions.abandonedApps).
 */
export function inactiveApps(
  events: readonly TenantEvent[],
  query: InactiveAppsQuery,
): InactiveApp[] {
  const { seenFrom, to, staleDays } = query;
  if (!(seenFrom instanceof Date) || !(to instanceof Date) || !(seenFrom <= to))
    throw new Error("inactiveApps needs { seenFrom: Date, to: Date } with seenFrom <= to");
  if (!(Number.isFinite(staleDays) && staleDays > 0))
    throw new Error(`inactiveApps needs staleDays > 0, got ${String(staleDays)}`);
  // groundTruth over the seen period holds exactly the per-app facts needed: it lists every app
  // with a record there, its latest launch, name, environment and deleted flag.
  const seen = groundTruth(events, { from: seenFrom, to }, { asOf: query.asOf });
  const cutoffMs = to.getTime() - staleDays * 86_400_000;
  const idle = seen.apps.filter(
    (a) => !a.deleted && (a.lastLaunchedAt === null || Date.parse(a.lastLaunchedAt) <= cutoffMs),
  );
  const lastMs = (a: AppUsage) => (a.lastLaunchedAt === null ? -1 : Date.parse(a.lastLaunchedAt));
  idle.sort(
    (a, b) => lastMs(a) - lastMs(b) || (a.appId < b.appId ? -1 : a.appId > b.appId ? 1 : 0),
  );
  return idle.map((a) => ({
    appId: a.appId,
    appName: a.appName,
    environmentId: a.environmentId,
    lastLaunchedAt: a.lastLaunchedAt,
    lastLaunchedBy: a.lastLaunchedBy,
  }));
}
