/**
 * Row and partition keys shared by every table module. A record's row is keyed by its Id (and the UTC day of
 * its CreationTime, which is fixed for a given record), so writing the same record twice, from two
 * blobs or two runs, replaces the row instead of adding one.
 */

/** Azure Table keys forbid / \ # ? and control characters; percent-encode those (and %). */
export function tableKey(value: string): string {
  return value.replace(
    /[%/\\#?\u0000-\u001f\u007f-\u009f]/g,
    (c) => "%" + c.charCodeAt(0).toString(16).padStart(2, "0").toUpperCase(),
  );
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
