import type { Logger } from "../core/log";
import type { Metrics } from "../core/metrics";
import type { PowerAppEvent } from "../domain/records";
import type { DataverseOutbox } from "../storage/dataverse-outbox";
import { storedEvents, type EventsTable } from "../storage/events";

/** Events put into the outbox per transaction group while back-filling a day. */
const CHUNK = 1000;

export interface BackfillProgress {
  /** The UTC day just put into the outbox. */
  day: string;
  daysDone: number;
  days: number;
  /** Events put into the outbox so far by this run. */
  events: number;
}

export interface BackfillResult {
  /** Days put into the outbox by this run (0: nothing left to back-fill). */
  days: number;
  events: number;
  /** The first day this run covered, when it covered any. */
  from?: string;
  /** The last day the back-fill covers. */
  to?: string;
  /** True when this run continued one that had stopped part-way. */
  resumed: boolean;
}

export interface BackfillDeps {
  launches: EventsTable;
  deletes: EventsTable;
  outbox: DataverseOutbox;
  metrics: Metrics;
  logger: Logger;
  now: () => Date;
}

/**
 * Puts the launches and deletes stored before the sink was switched on into its outbox, day by
 * day, oldest first; the drain then writes them like any others. The outbox keeps the next day to
 * do, so a back-fill killed midway resumes at the day it was on (the outbox is keyed by record Id,
 * and so are the Dataverse rows: a day put in twice is still one row per record). `from` (a
 * UTC day) starts a new back-fill there, up to the newest stored day; without it, a back-fill
 * that never ran covers everything stored and one that is done does nothing.
 */
export async function backfillOutbox(
  deps: BackfillDeps,
  options: { from?: string; signal?: AbortSignal; onProgress?: (p: BackfillProgress) => void } = {},
): Promise<BackfillResult> {
  const { outbox, launches, deletes, signal } = { ...deps, ...options };
  const state = options.from ? { nextDay: options.from } : await outbox.backfillState();
  if (state?.doneAt) return { days: 0, events: 0, resumed: false, to: state.lastDay };
  const stored = await storedDays(launches, deletes);
  const lastDay = state?.lastDay ?? stored.at(-1);
  const firstDay = state?.nextDay ?? stored[0];
  const resumed = state !== undefined && !options.from;
  const days =
    firstDay && lastDay ? stored.filter((d) => d >= firstDay && d <= lastDay) : ([] as string[]);
  let events = 0;
  for (const [i, day] of days.entries()) {
    signal?.throwIfAborted();
    let chunk: PowerAppEvent[] = [];
    for (const table of [deletes, launches]) {
      for await (const e of storedEvents(table, day, day)) {
        chunk.push(e);
        if (chunk.length >= CHUNK) {
          await outbox.add(chunk);
          events += chunk.length;
          chunk = [];
        }
      }
    }
    await outbox.add(chunk);
    events += chunk.length;
    // The day is in the outbox: a restart goes on with the next one.
    await outbox.setBackfillState({ nextDay: nextDay(day), lastDay });
    options.onProgress?.({ day, daysDone: i + 1, days: days.length, events });
  }
  await outbox.setBackfillState({ lastDay, doneAt: deps.now().toISOString() });
  deps.metrics.inc("audit_dataverse_backfilled_total", {}, events);
  if (days.length)
    deps.logger.info("dataverse back-fill put stored history into the outbox", {
      days: days.length,
      events,
      from: days[0],
      to: lastDay,
      resumed,
    });
  return { days: days.length, events, from: days[0], to: lastDay, resumed };
}

/**
 * Before a pass of a sink that has no back-fill state yet (it was just switched on): what is
 * stored now is all that needs back-filling, since from this pass on every stored event also
 * goes into the outbox. A store with nothing yet (a new deployment) needs none.
 */
export async function planBackfill(deps: BackfillDeps): Promise<void> {
  if (await deps.outbox.backfillState()) return;
  const stored = await storedDays(deps.launches, deps.deletes);
  await deps.outbox.setBackfillState(
    stored.length
      ? { nextDay: stored[0], lastDay: stored.at(-1) }
      : { doneAt: deps.now().toISOString() },
  );
}

/** The UTC days that hold launches or deletes, ascending. */
async function storedDays(launches: EventsTable, deletes: EventsTable): Promise<string[]> {
  return [...new Set([...(await launches.days()), ...(await deletes.days())])].sort();
}

function nextDay(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}
