/**
 * Microsoft Graph's audit log records, reduced to what the rest of the runtime already reads.
 * An auditLogRecord (learn.microsoft.com/graph/api/resources/security-auditlogrecord) carries
 * the service's own record in `auditData`: for Power Apps, the same record the Management
 * Activity API serves (Id, CreationTime, Operation, PropertyCollection or AppName…), so both
 * sources go through one classification and count the same events.
 */
import type { Interval } from "./windows";

/**
 * The record to classify: `auditData` when it is an object; otherwise the Graph record itself,
 * which has no CreationTime/Operation in the Management API's form and is counted as unparsed,
 * never dropped silently.
 */
export function auditDataOf(record: unknown): unknown {
  if (record && typeof record === "object" && !Array.isArray(record)) {
    const data = (record as { auditData?: unknown }).auditData;
    if (data && typeof data === "object" && !Array.isArray(data)) return data;
  }
  return record;
}

/**
 * The two halves of a window (split on a whole second), or undefined when it is not longer than
 * `minMs` and splitting further would not help.
 */
export function halve(window: Interval, minMs: number): [Interval, Interval] | undefined {
  const span = window.to.getTime() - window.from.getTime();
  if (span <= minMs) return undefined;
  const mid = new Date(Math.floor((window.from.getTime() + span / 2) / 1000) * 1000);
  if (mid <= window.from || mid >= window.to) return undefined;
  return [
    { from: window.from, to: mid },
    { from: mid, to: window.to },
  ];
}

const DAY_MS = 24 * 3_600_000;

/**
 * The pass's interval cut at UTC midnights: one query per calendar day, whatever the interval's
 * start. Every pass cuts the same days, so a day stored by an earlier pass (a killed backfill,
 * a pass that resumed from its checkpoint minus the overlap) is recognised and not queried again.
 */
export function dayWindows(from: Date, to: Date): Interval[] {
  const windows: Interval[] = [];
  for (let start = from.getTime(); start < to.getTime();) {
    const end = Math.min((Math.floor(start / DAY_MS) + 1) * DAY_MS, to.getTime());
    windows.push({ from: new Date(start), to: new Date(end) });
    start = end;
  }
  return windows;
}

/**
 * Real time before poll number `poll` (0 the first) of a running query: 1 s, doubling up to
 * `maxMs`. A small query is read within seconds; a query of minutes, as most are, is polled every
 * `maxMs` for the rest, a handful of requests per query whatever it takes.
 */
export function pollDelayMs(poll: number, maxMs: number): number {
  return Math.min(maxMs, 1000 * 2 ** Math.min(poll, 20));
}

/**
 * Whether a query submitted at `submittedAt` returned every record of `window`: a query sees the
 * records available when it runs, and a record is available at most `lateMs` after its event.
 */
export function sawEveryRecord(window: Interval, submittedAt: Date, lateMs: number): boolean {
  return submittedAt.getTime() >= window.to.getTime() + lateMs;
}
