import {
  RollupMerger,
  rollUp,
  rollupsCoverDay,
  withUserIds,
  type StoredRollup,
} from "../domain/rollup";
import { daysOf } from "../domain/usage";
import type { UsageReport } from "../domain/usage-report";
import { UserIds } from "../domain/user-ids";
import { eventsOfDay, type RollupStore } from "./rollups";

/** A report and the days it had to read from the events instead of the rollups. */
export interface UsageRead {
  report: UsageReport;
  daysFromEvents: string[];
}

/**
 * The usage report for [from, to), from the rollups table: one row per app and day, whatever
 * the number of launches. A day is read from its events instead only when its rollups cannot
 * answer exactly: it is marked dirty (a pass was killed before rolling it up), it is cut by the
 * window and holds events outside it, or the rollups were never built (storage from before
 * rollups: `rebuild-rollups`).
 */
export async function readUsage(
  store: RollupStore,
  window: { from: Date; to: Date },
  abortSignal?: AbortSignal,
): Promise<UsageRead> {
  const options = { abortSignal };
  const merger = new RollupMerger(window);
  const days = daysOf(window.from, window.to);
  if (days.length === 0) return { report: merger.report(), daysFromEvents: [] };
  const built = await store.rollups.isBuilt(options);
  const dirty = built ? await store.rollups.dirtyDays(options) : new Map<string, string>();
  // Whole days' rows are merged as they arrive; a cut day's are kept until all of it is read.
  const cut = new Map<string, StoredRollup[]>(
    days.filter((d) => !isWholeDayIn(d, window)).map((d) => [d, []]),
  );
  if (built) {
    for await (const r of store.rollups.read(days[0]!, days[days.length - 1]!, options)) {
      if (dirty.has(r.day)) continue;
      const held = cut.get(r.day);
      if (held) held.push(r);
      else merger.add(r);
    }
  }
  const daysFromEvents: string[] = [];
  // A day read from events names its users by UPN: their ids must be the stored rows' (users
  // not in the dictionary get ids past its end, for this report only; it stores nothing).
  let ids: UserIds | undefined;
  for (const day of days) {
    const held = cut.get(day);
    if (built && !dirty.has(day)) {
      if (!held) continue;
      if (rollupsCoverDay(day, held, window)) {
        for (const r of held) merger.add(r);
        continue;
      }
    }
    ids ??= built ? (await store.rollups.loadUserIds(options)).ids : new UserIds();
    const rows = await eventsOfDay(store, day, abortSignal);
    for (const r of rollUp(rows, window)) merger.add(withUserIds(r, ids));
    daysFromEvents.push(day);
  }
  return { report: merger.report(), daysFromEvents };
}

function isWholeDayIn(day: string, window: { from: Date; to: Date }): boolean {
  const start = Date.parse(`${day}T00:00:00.000Z`);
  return start >= window.from.getTime() && start + 86_400_000 <= window.to.getTime();
}

/** The usage report for [from, to) (see readUsage). */
export async function buildUsageReport(
  store: RollupStore,
  window: { from: Date; to: Date },
  abortSignal?: AbortSignal,
): Promise<UsageReport> {
  return (await readUsage(store, window, abortSignal)).report;
}
