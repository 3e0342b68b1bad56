import type { Logger } from "../core/log";
import { rollUp, withUserIds, type AppDayRollup } from "../domain/rollup";
import type { EventRow } from "../domain/usage";
import type { EventsTable } from "../storage/events";
import type { RollupsTable } from "../storage/rollups";
import type { UserDictionary } from "../storage/user-ids";

/** What rolling up reads and writes. */
export interface RollupStore {
  launches: EventsTable;
  deletes: EventsTable;
  rollups: RollupsTable;
}

/** The stored launches and deletes of one UTC day. */
export async function eventsOfDay(
  store: RollupStore,
  day: string,
  abortSignal?: AbortSignal,
): Promise<EventRow[]> {
  const rows: EventRow[] = [];
  for (const table of [store.launches, store.deletes]) {
    for await (const r of table.read(day, day, { abortSignal })) rows.push(r);
  }
  return rows;
}

/**
 * Stores one day's rollups: their new users' ids first (a roll-up killed after that leaves ids
 * no row uses yet, which the next one finds and reuses), then the rows.
 */
export async function storeDayRollups(
  rollups: RollupsTable,
  dictionary: UserDictionary,
  day: string,
  built: AppDayRollup[],
  abortSignal?: AbortSignal,
): Promise<void> {
  const stored = built.map((r) => withUserIds(r, dictionary.ids));
  await dictionary.save();
  await rollups.writeDay(day, stored, { abortSignal });
}

/**
 * Rolls up every day marked dirty, from that day's stored events, and clears its mark. Runs
 * under the one-writer lease after a pass, so no event of the day is written meanwhile; a day
 * that cannot be rolled up keeps its mark (the report reads its events) and the others go on.
 * Returns the days rolled up.
 */
export async function rollUpDirtyDays(
  store: RollupStore,
  logger: Logger,
  signal?: AbortSignal,
): Promise<string[]> {
  const done: string[] = [];
  const failed = (error: unknown, day?: string) =>
    logger.error("could not roll up; the report reads the events of the days not rolled up", {
      day,
      error,
      todo: "the next pass tries again; `rebuild-rollups` rebuilds every day",
    });
  // The pass's events are stored whatever happens here: a storage failure is logged, not fatal.
  let dirty: Map<string, string>;
  const abortSignal = signal;
  try {
    dirty = await store.rollups.dirtyDays({ abortSignal });
  } catch (error) {
    failed(error);
    return done;
  }
  // Loaded once for all the days; after a failure, again, as it may be half-written.
  let dictionary: UserDictionary | undefined;
  for (const [day, etag] of [...dirty].sort(([a], [b]) => (a < b ? -1 : 1))) {
    // A lost lease means another runtime may be writing this day's events: leave its mark.
    signal?.throwIfAborted();
    try {
      dictionary ??= await store.rollups.loadUserIds({ abortSignal });
      const built = rollUp(await eventsOfDay(store, day, signal));
      await storeDayRollups(store.rollups, dictionary, day, built, signal);
      await store.rollups.clearDirty(day, etag, { abortSignal });
      done.push(day);
    } catch (error) {
      dictionary = undefined;
      failed(error, day);
    }
  }
  return done;
}

/**
 * Makes the rollups cover every stored event: storage written before rollups existed (or by
 * hand) gets every day that holds events marked dirty, then rolled up. The "built" row is
 * written once every day is marked, so a run killed half-way leaves either no row (next time
 * starts again) or marks that the next roll-up finishes.
 */
export async function rebuildRollups(
  store: RollupStore,
  logger: Logger,
  signal?: AbortSignal,
): Promise<string[]> {
  await markEveryDayDirty(store, signal);
  return rollUpDirtyDays(store, logger, signal);
}

/** The first half of rebuildRollups: afterwards the report is exact, reading the events. */
export async function markEveryDayDirty(
  store: RollupStore,
  abortSignal?: AbortSignal,
): Promise<void> {
  const options = { abortSignal };
  const days = new Set([
    ...(await store.launches.days(options)),
    ...(await store.deletes.days(options)),
  ]);
  await store.rollups.markDirty(days, options);
  await store.rollups.markBuilt(options);
}
