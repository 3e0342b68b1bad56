import type { TableClient, TransactionAction } from "@azure/data-tables";
import { eventKeys } from "../records/dedupe";
import type { PowerAppEvent } from "../records/normalise";
import type { EventRow } from "../usage/aggregate";

/** Azure Tables accepts at most 100 operations per transaction, all in one partition. */
const BATCH = 100;

interface EventEntity {
  recordId: string;
  creationTime: string;
  appId: string;
  appName?: string;
  environmentId?: string;
  userUpn?: string;
  schema: string;
}

/**
 * Upserts launches (or deletes) keyed by (UTC day, record Id): a record stored twice replaces its
 * row, so it counts once however many blobs or runs delivered it.
 */
export async function writeEvents(table: TableClient, events: PowerAppEvent[]): Promise<void> {
  const byPartition = new Map<string, Map<string, PowerAppEvent>>();
  for (const e of events) {
    const { partitionKey, rowKey } = eventKeys(e);
    let rows = byPartition.get(partitionKey);
    if (!rows) byPartition.set(partitionKey, (rows = new Map()));
    // A transaction may not touch one row twice.
    rows.set(rowKey, e);
  }
  for (const [partitionKey, rows] of byPartition) {
    const entries = [...rows.entries()];
    for (let i = 0; i < entries.length; i += BATCH) {
      const actions: TransactionAction[] = entries
        .slice(i, i + BATCH)
        .map(([rowKey, e]) => ["upsert", { partitionKey, rowKey, ...toEntity(e) }, "Replace"]);
      await table.submitTransaction(actions);
    }
  }
}

function toEntity(e: PowerAppEvent): EventEntity {
  // Tables cannot store null: absent properties read back as null.
  return {
    recordId: e.recordId,
    creationTime: e.creationTime,
    appId: e.appId,
    ...(e.appName !== null ? { appName: e.appName } : {}),
    ...(e.environmentId !== null ? { environmentId: e.environmentId } : {}),
    ...(e.userUpn !== null ? { userUpn: e.userUpn } : {}),
    schema: e.schema,
  };
}

/** Reads the rows of the UTC days `firstDay`..`lastDay` (inclusive) back as report input. */
export async function* readEvents(
  table: TableClient,
  kind: "launch" | "delete",
  firstDay: string,
  lastDay: string,
): AsyncGenerator<EventRow> {
  const filter = `PartitionKey ge '${firstDay}' and PartitionKey le '${lastDay}'`;
  for await (const e of table.listEntities<EventEntity>({ queryOptions: { filter } })) {
    yield {
      kind,
      recordId: e.recordId,
      creationTime: e.creationTime,
      appId: e.appId,
      appName: e.appName ?? null,
      environmentId: e.environmentId ?? null,
      userUpn: e.userUpn ?? null,
    };
  }
}
