/**
 * Per-app, per-UTC-day rollups: what the usage report needs of one app on one day, small enough
 * that a report reads one row per app and day instead of every launch. A rollup is a function of
 * the set of stored events of its app-day (never a running counter), so computing it again after
 * a re-run or a killed pass gives the same row. Reports over several days merge rollups with the
 * contract's rules (sync-runtime/src/domain/usage-report.ts): launches add up (a record belongs to
 * one day), unique users are the union of the days' user sets, never a sum. Stored rollups name
 * their users by the ids of the tenant's user dictionary (./user-ids.ts), so that union is one
 * merge of sorted integer arrays per app. Pure.
 */
import { unionIds } from "./id-set";
import { byLaunchesThenAppId, daysOf, type EventRow } from "./usage";
import type { AppUsage, DailyLaunches, UsageReport } from "./usage-report";
import { UserIds } from "./user-ids";

/** A value with the record that set it, for the contract's "latest record wins" rules. */
export interface Stamped<T> {
  value: T;
  /** CreationTime (ISO) of the record. */
  at: string;
  recordId: string;
}

/** `U`: the users as built (lower-cased UPNs) or as stored (dictionary ids, see StoredRollup). */
export interface AppDayRollup<U = string[]> {
  /** UTC day, YYYY-MM-DD. */
  day: string;
  appId: string;
  /** Distinct LaunchPowerApp record Ids of the app-day. */
  launches: number;
  /** Distinct launching UPNs, lower-cased (the contract compares them case-insensitively), sorted. */
  users: U;
  /** Earliest and latest CreationTime of any of its events: whether a partial day can use it. */
  firstAt: string;
  lastAt: string;
  /** The latest launch; its value is the UPN as written, null when the record had none. */
  lastLaunch?: Stamped<string | null>;
  deleted: boolean;
  appName?: Stamped<string>;
  environmentId?: Stamped<string>;
}

/** A rollup whose users are their ids in the user dictionary, sorted ascending. */
export type StoredRollup = AppDayRollup<Uint32Array>;

/** The rollup with its users replaced by their ids (assigned in `ids` when new). */
export function withUserIds(r: AppDayRollup, ids: UserIds): StoredRollup {
  return { ...r, users: ids.idSet(r.users) };
}

/** Later record first: by CreationTime, ties broken by the greater record Id (the contract's rule). */
function isLater(at: string, recordId: string, than: Stamped<unknown> | undefined): boolean {
  if (!than) return true;
  return at !== than.at ? at > than.at : recordId > than.recordId;
}

function later<T>(a: Stamped<T> | undefined, b: Stamped<T> | undefined): Stamped<T> | undefined {
  if (!a) return b;
  if (!b) return a;
  return isLater(b.at, b.recordId, a) ? b : a;
}

interface Accumulator {
  appId: string;
  day: string;
  launchIds: Set<string>;
  users: Set<string>;
  firstAt: string;
  lastAt: string;
  lastLaunch?: Stamped<string | null>;
  deleted: boolean;
  appName?: Stamped<string>;
  environmentId?: Stamped<string>;
}

/**
 * Builds the rollups of stored events. Rows may repeat (a record stored twice, read from two
 * tables' pages): each counts once per kind and Id, so the result depends only on the set.
 * Holds one Id set per app-day being built, so callers feed it a day at a time.
 */
export class RollupBuilder {
  private readonly apps = new Map<string, Accumulator>();
  private readonly deletesSeen = new Set<string>();

  add(row: EventRow): void {
    const day = row.creationTime.slice(0, 10);
    const key = `${day}|${row.appId}`;
    let a = this.apps.get(key);
    if (!a) {
      a = {
        appId: row.appId,
        day,
        launchIds: new Set(),
        users: new Set(),
        firstAt: row.creationTime,
        lastAt: row.creationTime,
        deleted: false,
      };
      this.apps.set(key, a);
    }
    if (row.kind === "launch") {
      if (a.launchIds.has(row.recordId)) return;
      a.launchIds.add(row.recordId);
    } else {
      const id = `${key}|${row.recordId}`;
      if (this.deletesSeen.has(id)) return;
      this.deletesSeen.add(id);
    }
    if (row.creationTime < a.firstAt) a.firstAt = row.creationTime;
    if (row.creationTime > a.lastAt) a.lastAt = row.creationTime;
    const stamp = { at: row.creationTime, recordId: row.recordId };
    if (row.appName && isLater(stamp.at, stamp.recordId, a.appName))
      a.appName = { value: row.appName, ...stamp };
    if (row.environmentId && isLater(stamp.at, stamp.recordId, a.environmentId))
      a.environmentId = { value: row.environmentId, ...stamp };
    if (row.kind === "delete") {
      a.deleted = true;
      return;
    }
    if (row.userUpn) a.users.add(row.userUpn.toLowerCase());
    if (isLater(stamp.at, stamp.recordId, a.lastLaunch))
      a.lastLaunch = { value: row.userUpn, ...stamp };
  }

  rollups(): AppDayRollup[] {
    return [...this.apps.values()].map((a) => ({
      day: a.day,
      appId: a.appId,
      launches: a.launchIds.size,
      users: [...a.users].sort(),
      firstAt: a.firstAt,
      lastAt: a.lastAt,
      ...(a.lastLaunch ? { lastLaunch: a.lastLaunch } : {}),
      deleted: a.deleted,
      ...(a.appName ? { appName: a.appName } : {}),
      ...(a.environmentId ? { environmentId: a.environmentId } : {}),
    }));
  }
}

/** The rollups of `rows`, keeping only the events inside [from, to) (a partial day's events). */
export function rollUp(
  rows: Iterable<EventRow>,
  window?: { from: Date; to: Date },
): AppDayRollup[] {
  const builder = new RollupBuilder();
  const from = window?.from.toISOString();
  const to = window?.to.toISOString();
  for (const row of rows) {
    if (
      from !== undefined &&
      to !== undefined &&
      (row.creationTime < from || row.creationTime >= to)
    )
      continue;
    builder.add(row);
  }
  return builder.rollups();
}

/**
 * Whether a stored day's rollups answer the window exactly: the whole day lies inside it, or every
 * event the rollups summarise does (a report ending now covers all of today's events so far).
 */
export function rollupsCoverDay(
  day: string,
  rollups: readonly Pick<AppDayRollup, "firstAt" | "lastAt">[],
  window: { from: Date; to: Date },
): boolean {
  const start = Date.parse(`${day}T00:00:00.000Z`);
  if (start >= window.from.getTime() && start + 86_400_000 <= window.to.getTime()) return true;
  const from = window.from.toISOString();
  const to = window.to.toISOString();
  return rollups.every((r) => r.firstAt >= from && r.lastAt < to);
}

/** One app's rollups over the window's days, merged: a day rollup without its day and span. */
type AppTotals = Omit<AppDayRollup<Uint32Array>, "day" | "firstAt" | "lastAt">;

/**
 * The usage report of [from, to) from the rollups of its days, each of which holds only events
 * inside the window (see rollupsCoverDay). Equal to aggregateUsage over the same events.
 */
export function reportFromRollups(
  rollups: Iterable<AppDayRollup>,
  window: { from: Date; to: Date },
): UsageReport {
  const merger = new RollupMerger(window);
  const ids = new UserIds();
  for (const r of rollups) merger.add(withUserIds(r, ids));
  return merger.report();
}

/**
 * reportFromRollups one rollup at a time, so a reader can merge rows as they arrive and keep only
 * the per-app totals (one user id set per app, whatever the number of days and launches). Every
 * rollup it is given must take its ids from the same dictionary.
 */
export class RollupMerger {
  private readonly apps = new Map<string, AppTotals>();
  private readonly daily = new Map<string, number>();
  constructor(private readonly window: { from: Date; to: Date }) {
    for (const day of daysOf(window.from, window.to)) this.daily.set(day, 0);
  }

  add(r: StoredRollup): void {
    let a = this.apps.get(r.appId);
    if (!a) {
      a = { appId: r.appId, launches: 0, users: new Uint32Array(0), deleted: false };
      this.apps.set(r.appId, a);
    }
    a.launches += r.launches;
    a.users = unionIds(a.users, r.users);
    a.lastLaunch = later(a.lastLaunch, r.lastLaunch);
    a.deleted ||= r.deleted;
    a.appName = later(a.appName, r.appName);
    a.environmentId = later(a.environmentId, r.environmentId);
    const day = this.daily.get(r.day);
    if (day !== undefined) this.daily.set(r.day, day + r.launches);
  }

  report(): UsageReport {
    const { apps, daily, window } = this;
    const list: AppUsage[] = [...apps.values()].map((a) => ({
      appId: a.appId,
      appName: a.appName?.value ?? null,
      environmentId: a.environmentId?.value ?? null,
      launches: a.launches,
      uniqueUsers: a.users.length,
      lastLaunchedAt: a.lastLaunch ? new Date(a.lastLaunch.at).toISOString() : null,
      lastLaunchedBy: a.lastLaunch?.value ?? null,
      deleted: a.deleted,
    }));
    list.sort(byLaunchesThenAppId);
    const days: DailyLaunches[] = [...daily].map(([date, launches]) => ({ date, launches }));
    return {
      from: window.from.toISOString(),
      to: window.to.toISOString(),
      apps: list,
      daily: days,
    };
  }
}
