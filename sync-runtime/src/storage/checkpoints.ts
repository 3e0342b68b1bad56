import type { TableClient } from "@azure/data-tables";
import { tableKey } from "./keys";
import { StorageError } from "../core/errors";
import { getEntityOrUndefined } from "./entity";

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

  async get(contentType: string): Promise<Date | undefined> {
    const e = await getEntityOrUndefined<CheckpointEntity>(
      this.table,
      PARTITION,
      tableKey(contentType),
    );
    return e ? new Date(e.syncedTo) : undefined;
  }

  /**
   * Moves the checkpoint to `syncedTo` unless it is already later. The write is conditional on
   * the row read (its ETag, or its absence), so two writers can never move it back: a conflict
   * re-reads and decides again.
   */
  async advance(contentType: string, syncedTo: Date, now: Date): Promise<Date> {
    const rowKey = tableKey(contentType);
    // Bounded: each conflict means another writer moved the checkpoint in between.
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await getEntityOrUndefined<CheckpointEntity>(this.table, PARTITION, rowKey);
      if (current && new Date(current.syncedTo) >= syncedTo) return new Date(current.syncedTo);
      const entity = {
        partitionKey: PARTITION,
        rowKey,
        contentType,
        syncedTo: syncedTo.toISOString(),
        updatedAt: now.toISOString(),
      };
      try {
        if (current) await this.table.updateEntity(entity, "Replace", { etag: current.etag });
        else await this.table.createEntity(entity);
        return syncedTo;
      } catch (err) {
        const status = (err as { statusCode?: number }).statusCode;
        if (status !== 412 && status !== 409) throw err;
      }
    }
    throw new StorageError(
      `checkpoints table: could not advance ${contentType} after 5 conflicting writes; another runtime is writing the same checkpoint (see the sync lease).`,
    );
  }
}
