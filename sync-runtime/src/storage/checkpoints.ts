import type { TableClient } from "@azure/data-tables";
import { tableKey } from "./keys";
import { getEntityOrUndefined, readModifyWrite } from "./entity";
import type { StorageOptions } from "./options";

const PARTITION = "checkpoint";

interface CheckpointEntity {
  contentType: string;
  /** Content created before this time is fully processed and stored. */
  syncedTo: string;
  updatedAt: string;
}

/** One checkpoint per content type; it only moves forward. */
export class Checkpoints {
  constructor(private readonly table: TableClient) {}

  async get(contentType: string, options: StorageOptions = {}): Promise<Date | undefined> {
    const e = await getEntityOrUndefined<CheckpointEntity>(
      this.table,
      PARTITION,
      tableKey(contentType),
      options,
    );
    return e ? new Date(e.syncedTo) : undefined;
  }

  /**
   * Moves the checkpoint to `syncedTo` unless it is already later. The write is conditional on
   * the row read (its ETag, or its absence), so two writers can never move it back: a conflict
   * re-reads and decides again.
   */
  advance(
    contentType: string,
    syncedTo: Date,
    now: Date,
    options: StorageOptions = {},
  ): Promise<Date> {
    return readModifyWrite<CheckpointEntity, Date>(
      this.table,
      { partitionKey: PARTITION, rowKey: tableKey(contentType) },
      (current) => {
        if (current && new Date(current.syncedTo) >= syncedTo) {
          return { result: new Date(current.syncedTo) };
        }
        const write = {
          contentType,
          syncedTo: syncedTo.toISOString(),
          updatedAt: now.toISOString(),
        };
        return { write, result: syncedTo };
      },
      { ...options, what: `checkpoints table: could not advance ${contentType}` },
    );
  }
}
