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
 * Read-modify-write of one row, guarded by its ETag (or by its absence, for a new row), so two
 * writers can never lose each other's update: a conflict (412, or 409 for a row created in
 * between) re-reads and decides again. `decide` gets the row as stored and returns the row to
 * write, or none when the stored one stands; either way with the caller's result. Bounded: after
 * CONFLICTS conflicts in a row it fails with a StorageError that says `what` could not be done.
 */
export async function readModifyWrite<T extends object, R>(
  table: TableClient,
  key: { partitionKey: string; rowKey: string },
  decide: (current: TableEntityResult<T> | undefined) => { write?: T; result: R },
  options: StorageOptions & { what: string },
): Promise<R> {
  const { abortSignal } = options;
  for (let attempt = 0; attempt < CONFLICTS; attempt++) {
    const current = await getEntityOrUndefined<T>(table, key.partitionKey, key.rowKey, options);
    const { write, result } = decide(current);
    if (!write) return result;
    const entity = { ...write, ...key };
    try {
      if (current) await table.updateEntity(entity, "Replace", { etag: current.etag, abortSignal });
      else await table.createEntity(entity, { abortSignal });
      return result;
    } catch (err) {
      const status = (err as { statusCode?: number }).statusCode;
      if (status !== 412 && status !== 409) throw err;
    }
  }
  throw new StorageError(
    `${options.what} after ${CONFLICTS} conflicting writes: another runtime is writing the same row (see the sync lease). The next pass tries again.`,
  );
}
