import type { TableClient } from "@azure/data-tables";
import { tableKey } from "./keys";
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

  /** Moves the checkpoint to `syncedTo` unless it is already later. */
  async advance(contentType: string, syncedTo: Date, now: Date): Promise<Date> {
    const current = await this.get(contentType);
    if (current && current >= syncedTo) return current;
    await this.table.upsertEntity<CheckpointEntity>(
      {
        partitionKey: PARTITION,
        rowKey: tableKey(contentType),
        contentType,
        syncedTo: syncedTo.toISOString(),
        updatedAt: now.toISOString(),
      },
      "Replace",
    );
    return syncedTo;
  }
}
