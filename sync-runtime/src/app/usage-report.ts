import { reportFromRollups, rollUp, rollupsCoverDay, type AppDayRollup } from "../domain/rollup";
import { daysOf } from "../domain/usage";
import type { UsageReport } from "../domain/usage-report";
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
): Promise<UsageRead> {
  const days = daysOf(window.from, window.to);
  if (days.length === 0) return { report: reportFromRollups([], window), daysFromEvents: [] };
  const built = await store.rollups.isBuilt();
  const dirty = built ? await store.rollups.dirtyDays() : new Map<string, string>();
  const stored = built
    ? await store.rollups.read(days[0]!, days[days.length - 1]!)
    : new Map<string, AppDayRollup[]>();
  const used: AppDayRollup[] = [];
  const daysFromEvents: string[] = [];
  for (const day of days) {
    const rollups = stored.get(day) ?? [];
    if (built && !dirty.has(day) && rollupsCoverDay(day, rollups, window)) {
      used.push(...rollups);
    } else {
      used.push(...rollUp(await eventsOfDay(store, day), window));
      daysFromEvents.push(day);
    }
  }
  return { report: reportFromRollups(used, window), daysFromEvents };
}

/** The usage report for [from, to) (see readUsage). */
export async function buildUsageReport(
  store: RollupStore,
  window: { from: Date; to: Date },
): Promise<UsageReport> {
  return (await readUsage(store, window)).report;
}
