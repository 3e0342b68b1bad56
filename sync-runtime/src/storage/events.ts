import type { TableClient, TransactionAction } from "@azure/data-tables";
import { eventKeys } from "./keys";
import type { EventKind, PowerAppEvent } from "../domain/records";
import type { EventRow } from "../domain/usage";
import type { StorageOptions } from "./options";

/** Azure Tables accepts at most 100 operations per transaction, all in one partition. */
const BATCH = 100;

export interface EventEntity {
  recordId: string;
  creationTime: string;
  appId: string;
  appName?: string;
  environmentId?: string;
  userUpn?: string;
  userKey?: string;
  schema: string;
}

/**
 * The launches table or the deletes table (same row shape): one row per record, keyed by (UTC
 * day, record Id), so a record stored twice replaces its row and counts once however many blobs
 * or runs delivered it.
 */
export class EventsTable {
  constructor(
    private readonly table: TableClient,
    readonly kind: EventKind,
  ) {}

  /** Upserts the events, in transactions of at most BATCH rows of one partition. */
  async write(events: PowerAppEvent[], options: StorageOptions = {}): Promise<void> {
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
        await this.table.submitTransaction(actions, { abortSignal: options.abortSignal });
      }
    }
  }

  /** The UTC days that hold rows, ascending (a scan of every row's key: for rebuilding rollups). */
  async days(options: StorageOptions = {}): Promise<string[]> {
    const days = new Set<string>();
    const rows = this.table.listEntities({
      queryOptions: { select: ["PartitionKey"] },
      abortSignal: options.abortSignal,
    });
    for await (const e of rows) {
      days.add(e.partitionKey!);
    }
    return [...days].sort();
  }

  /** The stored rows of the UTC days `firstDay`..`lastDay` (inclusive). */
  entities(
    firstDay: string,
    lastDay: string,
    options: StorageOptions = {},
  ): AsyncIterable<EventEntity> {
    const filter = `PartitionKey ge '${firstDay}' and PartitionKey le '${lastDay}'`;
    return this.table.listEntities<EventEntity>({
      queryOptions: { filter },
      abortSignal: options.abortSignal,
    });
  }

  /** Reads the rows of the UTC days `firstDay`..`lastDay` (inclusive) back as report input. */
  async *read(
    firstDay: string,
    lastDay: string,
    options: StorageOptions = {},
  ): AsyncGenerator<EventRow> {
    for await (const e of this.entities(firstDay, lastDay, options)) {
      yield {
        kind: this.kind,
        recordId: e.recordId,
        creationTime: e.creationTime,
        appId: e.appId,
        appName: e.appName ?? null,
        environmentId: e.environmentId ?? null,
        userUpn: e.userUpn ?? null,
      };
    }
  }
}

/**
 * The events of the UTC days `firstDay`..`lastDay` (inclusive) as stored, day by day in key
 * order: what the Dataverse sink back-fills from. Rows stored before UserKey was kept have none.
 */
export async function* storedEvents(
  table: EventsTable,
  firstDay: string,
  lastDay: string,
): AsyncGenerator<PowerAppEvent> {
  for await (const e of table.entities(firstDay, lastDay))
    yield eventFromRow(table.kind, e.recordId, e);
}

/** The fields a launch or delete row keeps, in these tables and the Dataverse outbox alike. */
export type StoredEventFields = Omit<EventEntity, "recordId">;

/** A stored row back as the event it was written from (absent properties read back as null). */
export function eventFromRow(
  kind: EventKind,
  recordId: string,
  e: StoredEventFields,
): PowerAppEvent {
  return {
    kind,
    recordId,
    creationTime: e.creationTime,
    appId: e.appId,
    appName: e.appName ?? null,
    environmentId: e.environmentId ?? null,
    userUpn: e.userUpn ?? null,
    userKey: e.userKey ?? null,
    schema: e.schema === "legacy" ? "legacy" : "purview",
  };
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
    ...(e.userKey !== null ? { userKey: e.userKey } : {}),
    schema: e.schema,
  };
}
