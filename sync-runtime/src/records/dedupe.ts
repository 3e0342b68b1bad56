/**
 * De-duplication keys. A record's table row is keyed by its Id (and the UTC day of its
 * CreationTime, which is fixed for a given record), so writing the same record twice, from two
 * blobs or two runs, replaces the row instead of adding one.
 */

/** Azure Table keys forbid / \ # ? and control characters; percent-encode those (and %). */
export function tableKey(value: string): string {
  return value.replace(
    /[%/\\#?\u0000-\u001f\u007f-\u009f]/g,
    (c) => "%" + c.charCodeAt(0).toString(16).padStart(2, "0").toUpperCase(),
  );
}

export function decodeTableKey(key: string): string {
  return key.replace(/%([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** Partition of an event row: the UTC day, so a report reads only the days of its window. */
export function dayOf(isoTime: string): string {
  return isoTime.slice(0, 10);
}

export function eventKeys(event: { recordId: string; creationTime: string }): {
  partitionKey: string;
  rowKey: string;
} {
  return { partitionKey: dayOf(event.creationTime), rowKey: tableKey(event.recordId) };
}

/**
 * Record Ids this process has already written (confirmed by the sink), to count duplicates and
 * skip re-writing them. Bounded: the oldest Ids are forgotten first. Correctness never depends
 * on it — the tables' keys de-duplicate across restarts — it only saves writes and feeds the
 * metric. Ids are added only after their write succeeded, so a failed blob is written in full on
 * its retry.
 */
export class WrittenIds {
  private readonly ids = new Set<string>();
  // 100k Ids (about 12 MB) cover a week of a large tenant's Power Apps events.
  constructor(private readonly capacity = 100_000) {}

  has(id: string): boolean {
    return this.ids.has(id);
  }

  add(id: string): void {
    this.ids.delete(id);
    this.ids.add(id);
    if (this.ids.size > this.capacity) {
      this.ids.delete(this.ids.values().next().value as string);
    }
  }
}
