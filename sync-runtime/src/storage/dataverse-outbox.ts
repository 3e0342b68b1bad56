import type { TableClient, TransactionAction } from "@azure/data-tables";
import type { EventKind, PowerAppEvent } from "../domain/records";

/** Azure Tables accepts at most 100 operations per transaction, all in one partition. */
const BATCH = 100;

export type OutboxEntity = {
  partitionKey: string;
  rowKey: string;
  creationTime: string;
  appId: string;
  appName?: string;
  environmentId?: string;
  userUpn?: string;
  userKey?: string;
  schema: string;
};

/** The partitions that hold events, deletes first (a pass's deletes are few and matter most). */
const KINDS = ["delete", "launch"] as const;

/** Where the back-fill of stored history stands (one row of its own partition). */
export interface BackfillState {
  /** The first UTC day (YYYY-MM-DD) still to put into the outbox; undefined when done. */
  nextDay?: string;
  /** The last day the back-fill covers (the newest stored day when it started). */
  lastDay?: string;
  /** When it completed. */
  doneAt?: string;
}

const STATE = { partitionKey: "state", rowKey: "backfill" };

/**
 * The Dataverse sink's own cursor: every launch and delete stored in Azure Storage is also put
 * here, in the same step and before the blob is marked processed, and leaves once Dataverse has
 * it (or has refused it for good: then it moves to the dead letters). A Dataverse outage
 * therefore only makes this table grow; the archive and the reports go on, and the next drain
 * catches up. Rows are keyed by (kind, record Id), so a record seen twice is one row. The
 * back-fill of history stored before the sink was switched on keeps its position here too.
 */
export class DataverseOutbox {
  constructor(private readonly table: TableClient) {}

  async add(events: PowerAppEvent[]): Promise<void> {
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
        await this.table.submitTransaction(actions);
      }
    }
  }

  /**
   * Every pending event, `size` at a time, deletes first, each page read after the previous one
   * was handled: events removed meanwhile are not seen again, events left (held, or waiting on a
   * throttled Dataverse) are passed over until the next call. One call is one walk through the
   * table, so a row that stays never keeps the rows behind it waiting.
   */
  async *pages(size: number): AsyncGenerator<PowerAppEvent[]> {
    for (const kind of KINDS) {
      const pages = this.table
        .listEntities<OutboxEntity>({ queryOptions: { filter: `PartitionKey eq '${kind}'` } })
        .byPage({ maxPageSize: Math.min(1000, size) });
      let batch: PowerAppEvent[] = [];
      for await (const page of pages) {
        for (const e of page) {
          batch.push(fromEntity(kind, e));
          if (batch.length >= size) {
            yield batch;
            batch = [];
          }
        }
      }
      if (batch.length) yield batch;
    }
  }

  /** Removes events Dataverse now holds (or that moved to the dead letters). */
  async remove(events: PowerAppEvent[]): Promise<void> {
    for (const kind of KINDS) {
      const keys = [
        ...new Set(events.filter((e) => e.kind === kind).map((e) => e.recordId.toLowerCase())),
      ];
      for (let i = 0; i < keys.length; i += BATCH) {
        const actions: TransactionAction[] = keys
          .slice(i, i + BATCH)
          .map((rowKey) => ["delete", { partitionKey: kind, rowKey }]);
        await this.table.submitTransaction(actions);
      }
    }
  }

  /** How many events wait (a scan of keys only: the outbox is small unless Dataverse is down). */
  async count(): Promise<number> {
    let n = 0;
    for (const kind of KINDS) {
      const rows = this.table.listEntities({
        queryOptions: { select: ["RowKey"], filter: `PartitionKey eq '${kind}'` },
      });
      for await (const _ of rows) n++;
    }
    return n;
  }

  /** Where the back-fill stands; undefined when it never started (the sink is new here). */
  async backfillState(): Promise<BackfillState | undefined> {
    try {
      const e = await this.table.getEntity<BackfillState>(STATE.partitionKey, STATE.rowKey);
      return { nextDay: e.nextDay, lastDay: e.lastDay, doneAt: e.doneAt };
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return undefined;
      throw err;
    }
  }

  async setBackfillState(state: BackfillState): Promise<void> {
    await this.table.upsertEntity({ ...STATE, ...state }, "Replace");
  }
}

export function toEntity(kind: EventKind, rowKey: string, e: PowerAppEvent): OutboxEntity {
  // Tables cannot store null: absent properties read back as null.
  return {
    partitionKey: kind,
    rowKey,
    creationTime: e.creationTime,
    appId: e.appId,
    ...(e.appName !== null ? { appName: e.appName } : {}),
    ...(e.environmentId !== null ? { environmentId: e.environmentId } : {}),
    ...(e.userUpn !== null ? { userUpn: e.userUpn } : {}),
    ...(e.userKey !== null ? { userKey: e.userKey } : {}),
    schema: e.schema,
  };
}

export function fromEntity(kind: EventKind, e: Omit<OutboxEntity, "partitionKey">): PowerAppEvent {
  return {
    kind,
    recordId: e.rowKey,
    creationTime: e.creationTime,
    appId: e.appId,
    appName: e.appName ?? null,
    environmentId: e.environmentId ?? null,
    userUpn: e.userUpn ?? null,
    userKey: e.userKey ?? null,
    schema: e.schema === "legacy" ? "legacy" : "purview",
  };
}
