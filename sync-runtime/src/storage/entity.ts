import type { TableClient, TableEntityResult } from "@azure/data-tables";
import { StorageError } from "../core/errors";
import type { StorageOptions } from "./options";

/** Reads one entity, or undefined when it does not exist. */
export async function getEntityOrUndefined<T extends object>(
  table: TableClient,
  partitionKey: string,
  rowKey: string,
  options: StorageOptions = {},
): Promise<TableEntityResult<T> | undefined> {
  try {
    return await table.getEntity<T>(partitionKey, rowKey, { abortSignal: options.abortSignal });
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return undefined;
    throw err;
  }
}

/** Conflicting writes one read-modify-write takes before it gives up. */
const CONFLICTS = 5;

/**
 * Rows of one partition as this process last read or wrote them, with their ETags: a
 * read-modify-write that finds its row here writes without reading it first. Safe because the
 * write stays conditional on the ETag: if anyone else wrote the row since, the write fails with
 * 412 and the row is read again. Bounded: past `maxRows` the least recently used row is
 * forgotten (and read again when next needed).
 */
export class KnownRows<T extends object> {
  private readonly rows = new Map<string, TableEntityResult<T>>();
  constructor(private readonly maxRows: number) {}

  get(rowKey: string): TableEntityResult<T> | undefined {
    const row = this.rows.get(rowKey);
    if (row) {
      // Map keeps insertion order: moving the row to the end makes the first one the oldest.
      this.rows.delete(rowKey);
      this.rows.set(rowKey, row);
    }
    return row;
  }

  set(rowKey: string, row: TableEntityResult<T>): void {
    this.rows.delete(rowKey);
    this.rows.set(rowKey, row);
    if (this.rows.size > this.maxRows) this.rows.delete(this.rows.keys().next().value!);
  }

  forget(rowKey: string): void {
    this.rows.delete(rowKey);
  }
}

/**
 * Read-modify-write of one row, guarded by its ETag (or by its absence, for a new row), so two
 * writers can never lose each other's update: a conflict (412, or 409 for a row created in
 * between) re-reads and decides again. `decide` gets the row as stored and returns the row to
 * write, or none when the stored one stands; either way with the caller's result. With `known`,
 * the row as this process last wrote or read it stands in for the first read. Bounded: after
 * CONFLICTS conflicts in a row it fails with a StorageError that says `what` could not be done.
 */
export async function readModifyWrite<T extends object, R>(
  table: TableClient,
  key: { partitionKey: string; rowKey: string },
  decide: (current: TableEntityResult<T> | undefined) => { write?: T; result: R },
  options: StorageOptions & { what: string; known?: KnownRows<T> },
): Promise<R> {
  const { abortSignal, known } = options;
  for (let attempt = 0; attempt < CONFLICTS; attempt++) {
    const current =
      (attempt === 0 ? known?.get(key.rowKey) : undefined) ??
      (await getEntityOrUndefined<T>(table, key.partitionKey, key.rowKey, options));
    const { write, result } = decide(current);
    if (!write) {
      if (current) known?.set(key.rowKey, current);
      return result;
    }
    const entity = { ...write, ...key };
    try {
      const { etag } = current
        ? await table.updateEntity(entity, "Replace", { etag: current.etag, abortSignal })
        : await table.createEntity(entity, { abortSignal });
      if (etag) known?.set(key.rowKey, { ...entity, etag });
      else known?.forget(key.rowKey);
      return result;
    } catch (err) {
      // Whatever failed, the row as known may no longer be the row as stored.
      known?.forget(key.rowKey);
      const status = (err as { statusCode?: number }).statusCode;
      if (status !== 412 && status !== 409) throw err;
    }
  }
  throw new StorageError(
    `${options.what} after ${CONFLICTS} conflicting writes: another runtime is writing the same row (see the sync lease). The next pass tries again.`,
  );
}
