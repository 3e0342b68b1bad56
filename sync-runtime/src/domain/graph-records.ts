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
