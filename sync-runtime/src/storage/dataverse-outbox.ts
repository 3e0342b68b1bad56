import type { TableClient, TransactionAction } from "@azure/data-tables";
import type { EventKind, PowerAppEvent } from "../domain/records";
import type { StorageOptions } from "./options";

/** Azure Tables accepts at most 100 operations per transaction, all in one partition. */
const BATCH = 100;

type OutboxEntity = {
  partitionKey: string;
  rowKey: string;
  creationTime: string;
  appId: string;
  appName?: string;
  environmentId?: string;
  userUpn?: string;
  schema: string;
};

/**
 * The Dataverse sink's own cursor: every launch and delete stored in Azure Storage is also put
 * here, in the same step and before the blob is marked processed, and leaves only once Dataverse
 * has it. A Dataverse outage therefore only makes this table grow; the archive and the reports
 * go on, and the next drain catches up. Rows are keyed by (kind, record Id), so a record seen
 * twice is one row.
 */
export class DataverseOutbox {
  constructor(private readonly table: TableClient) {}

  async add(events: PowerAppEvent[], options: StorageOptions = {}): Promise<void> {
    const byKind = new Map<EventKind, Map<string, PowerAppEvent>>();
    for (const e of events) {
      let rows = byKind.get(e.kind);
      if (!rows) byKind.set(e.kind, (rows = new Map()));
      rows.set(e.recordId.toLowerCase(), e);
    }
    for (const [kind, rows] of byKind) {
      const entries = [...rows.entries()];
      for (let i = 0; i < entries.length; i += BATCH) {
        const actions: TransactionAction[] = entries
          .slice(i, i + BATCH)
          .map(([rowKey, e]) => ["upsert", toEntity(kind, rowKey, e), "Replace"]);
        await this.table.submitTransaction(actions, { abortSignal: options.abortSignal });
      }
    }
  }

  /** Up to `max` pending events, deletes first (a pass's deletes are few and matter most). */
  async take(max: number, options: StorageOptions = {}): Promise<PowerAppEvent[]> {
    const out: PowerAppEvent[] = [];
    for (const kind of ["delete", "launch"] as const) {
      const pages = this.table
        .listEntities<OutboxEntity>({
          queryOptions: { filter: `PartitionKey eq '${kind}'` },
          abortSignal: options.abortSignal,
        })
        .byPage({ maxPageSize: Math.min(1000, max) });
      for await (const page of pages) {
        for (const e of page) {
          if (out.length >= max) return out;
          out.push(fromEntity(kind, e));
        }
        if (out.length >= max) return out;
      }
    }
    return out;
  }

  /** Removes events Dataverse now holds. */
  async remove(events: PowerAppEvent[], options: StorageOptions = {}): Promise<void> {
    for (const kind of ["delete", "launch"] as const) {
      const keys = [
        ...new Set(events.filter((e) => e.kind === kind).map((e) => e.recordId.toLowerCase())),
      ];
      for (let i = 0; i < keys.length; i += BATCH) {
        const actions: TransactionAction[] = keys
          .slice(i, i + BATCH)
          .map((rowKey) => ["delete", { partitionKey: kind, rowKey }]);
        await this.table.submitTransaction(actions, { abortSignal: options.abortSignal });
      }
    }
  }

  /** How many events wait (a full scan of keys only: the outbox is small unless Dataverse is down). */
  async count(options: StorageOptions = {}): Promise<number> {
    let n = 0;
    const rows = this.table.listEntities({
      queryOptions: { select: ["RowKey"] },
      abortSignal: options.abortSignal,
    });
    for await (const _ of rows) n++;
    return n;
  }
}

function toEntity(kind: EventKind, rowKey: string, e: PowerAppEvent): OutboxEntity {
  // Tables cannot store null: absent properties read back as null.
  return {
    partitionKey: kind,
    rowKey,
    creationTime: e.creationTime,
    appId: e.appId,
    ...(e.appName !== null ? { appName: e.appName } : {}),
    ...(e.environmentId !== null ? { environmentId: e.environmentId } : {}),
    ...(e.userUpn !== null ? { userUpn: e.userUpn } : {}),
    schema: e.schema,
  };
}

function fromEntity(kind: EventKind, e: OutboxEntity): PowerAppEvent {
  return {
    kind,
    recordId: e.rowKey,
    creationTime: e.creationTime,
    appId: e.appId,
    appName: e.appName ?? null,
    environmentId: e.environmentId ?? null,
    userUpn: e.userUpn ?? null,
    schema: e.schema === "legacy" ? "legacy" : "purview",
  };
}
