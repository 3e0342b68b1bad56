/**
 * What one content blob holds, worked out without I/O: records are classified as they stream in
 * (RecordCollector), then tallyBlob decides which events are new and counts the rest. Pure, so
 * the counting rules can be tested without an API or storage.
 */
import { classifyRecord, type PowerAppEvent } from "./records";

export interface BlobStats {
  records: number;
  launches: number;
  deletes: number;
  unparsed: number;
  duplicates: number;
}

export function emptyStats(): BlobStats {
  return { records: 0, launches: 0, deletes: 0, unparsed: 0, duplicates: 0 };
}

/** Adds `add`'s counts to `into` (pass totals from blob stats). */
export function addStats(into: BlobStats, add: BlobStats): void {
  for (const k of ["records", "launches", "deletes", "unparsed", "duplicates"] as const) {
    into[k] += add[k];
  }
}

/** The first unparsed record of a blob, as the log line's example. */
export interface UnparsedExample {
  reason: string;
  recordId?: string;
}

/** Classifies one blob's records as they arrive; holds events and counts, not the records. */
export class RecordCollector {
  records = 0;
  readonly events: PowerAppEvent[] = [];
  /** Unparsed records with an Id: counted once per Id, like events. */
  readonly unparsedIds = new Set<string>();
  /** Unparsed records without an Id: no way to tell duplicates apart, so each counts. */
  unparsedWithoutId = 0;
  firstUnparsed: UnparsedExample | undefined;
  /** Latest CreationTime of any parsed record (ISO), "" when none. */
  newest = "";

  add(raw: unknown): void {
    this.records++;
    const c = classifyRecord(raw);
    if (c.type === "unparsed") {
      if (c.recordId) this.unparsedIds.add(c.recordId);
      else this.unparsedWithoutId++;
      this.firstUnparsed ??= { reason: c.reason, recordId: c.recordId };
      return;
    }
    const time = c.type === "event" ? c.event.creationTime : c.creationTime;
    if (time > this.newest) this.newest = time;
    if (c.type === "event") this.events.push(c.event);
  }
}

export interface BlobTally {
  /** Events not seen before (in this blob or already written): the ones to store. */
  launches: PowerAppEvent[];
  deletes: PowerAppEvent[];
  stats: BlobStats;
  /** Keys to remember as written once the blob is stored (see WrittenIds). */
  newKeys: Set<string>;
}

/** The key a record is de-duplicated on: its kind and Id (unparsed records count once per Id). */
export function recordKey(kind: "launch" | "delete" | "unparsed", recordId: string): string {
  return `${kind}:${recordId}`;
}

/**
 * Splits a collected blob into new events and duplicates. A record repeated inside the blob, or
 * one this process already wrote (`written`), is a duplicate: counted, not stored again.
 */
export function tallyBlob(
  collected: RecordCollector,
  written: { has(key: string): boolean },
): BlobTally {
  const stats = emptyStats();
  stats.records = collected.records;
  stats.unparsed = collected.unparsedWithoutId;
  const newKeys = new Set<string>();
  const launches: PowerAppEvent[] = [];
  const deletes: PowerAppEvent[] = [];
  for (const e of collected.events) {
    const key = recordKey(e.kind, e.recordId);
    if (newKeys.has(key) || written.has(key)) {
      stats.duplicates++;
      continue;
    }
    newKeys.add(key);
    (e.kind === "launch" ? launches : deletes).push(e);
  }
  for (const id of collected.unparsedIds) {
    const key = recordKey("unparsed", id);
    if (written.has(key)) continue;
    newKeys.add(key);
    stats.unparsed++;
  }
  stats.launches = launches.length;
  stats.deletes = deletes.length;
  return { launches, deletes, stats, newKeys };
}
