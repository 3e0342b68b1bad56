import type { TableClient, TransactionAction } from "@azure/data-tables";
import type { EventKind, PowerAppEvent } from "../domain/records";
import { getEntityOrUndefined } from "./entity";
import { eventFromRow } from "./events";
import { dayOf } from "./keys";
import type { StorageOptions } from "./options";

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

/** The kinds of events, deletes first (a pass's deletes are few and matter most). */
const KINDS = ["delete", "launch"] as const;

/**
 * An event's partition: its kind and UTC day. Partitions stay small (Azurite's transactions slow
 * down as a partition grows, and Azure spreads partitions over servers), and one kind's partitions
 * sort together: `launch:2026-05-19` lies between `launch:` and `launch;`.
 */
function partitionOf(kind: EventKind, creationTime: string): string {
  return `${kind}:${dayOf(creationTime)}`;
}

const kindFilter = (kind: EventKind) => `PartitionKey ge '${kind}:' and PartitionKey lt '${kind};'`;

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

  async add(events: PowerAppEvent[], options: StorageOptions = {}): Promise<void> {
    const byPartition = new Map<string, Map<string, PowerAppEvent>>();
    for (const e of events) {
      const partition = partitionOf(e.kind, e.creationTime);
      let rows = byPartition.get(partition);
      if (!rows) byPartition.set(partition, (rows = new Map()));
      rows.set(e.recordId.toLowerCase(), e);
    }
    for (const [partition, rows] of byPartition) {
      const entries = [...rows.entries()];
      for (let i = 0; i < entries.length; i += BATCH) {
        const actions: TransactionAction[] = entries
          .slice(i, i + BATCH)
          .map(([rowKey, e]) => [
            "upsert",
            { ...toEntity(e.kind, rowKey, e), partitionKey: partition },
            "Replace",
          ]);
        await this.table.submitTransaction(actions, { abortSignal: options.abortSignal });
      }
    }
  }

  /**
   * Every pending event, `size` at a time, deletes first, each page read after the previous one
   * was handled: events removed meanwhile are not seen again, events left (held, or waiting on a
   * throttled Dataverse) are passed over until the next call. One call is one walk through the
   * table, so a row that stays never keeps the rows behind it waiting.
   */
  async *pages(size: number, options: StorageOptions = {}): AsyncGenerator<PowerAppEvent[]> {
    await this.migrate(options);
    for (const kind of KINDS) {
      const pages = this.table
        .listEntities<OutboxEntity>({
          queryOptions: { filter: kindFilter(kind) },
          abortSignal: options.abortSignal,
        })
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
  async remove(events: PowerAppEvent[], options: StorageOptions = {}): Promise<void> {
    const byPartition = new Map<string, Set<string>>();
    for (const e of events) {
      const partition = partitionOf(e.kind, e.creationTime);
      let keys = byPartition.get(partition);
      if (!keys) byPartition.set(partition, (keys = new Set()));
      keys.add(e.recordId.toLowerCase());
    }
    for (const [partitionKey, set] of byPartition) {
      const keys = [...set];
      for (let i = 0; i < keys.length; i += BATCH) {
        const actions: TransactionAction[] = keys
          .slice(i, i + BATCH)
          .map((rowKey) => ["delete", { partitionKey, rowKey }]);
        await this.table.submitTransaction(actions, { abortSignal: options.abortSignal });
      }
    }
  }

  /**
   * Moves rows an earlier version kept in one partition per kind ("launch", "delete") into the
   * per-day partitions, once: nothing is then left behind where remove() would not look.
   */
  private async migrate(options: StorageOptions): Promise<void> {
    for (const kind of KINDS) {
      const old = this.table.listEntities<OutboxEntity>({
        queryOptions: { filter: `PartitionKey eq '${kind}'` },
        abortSignal: options.abortSignal,
      });
      for await (const page of old.byPage({ maxPageSize: BATCH })) {
        const events = page.map((e) => fromEntity(kind, e));
        if (events.length === 0) continue;
        await this.add(events, options);
        await this.table.submitTransaction(
          events.map((e) => ["delete", { partitionKey: kind, rowKey: e.recordId }]),
          { abortSignal: options.abortSignal },
        );
      }
    }
  }

  /** How many events wait (a scan of keys only: the outbox is small unless Dataverse is down). */
  async count(options: StorageOptions = {}): Promise<number> {
    let n = 0;
    for (const kind of KINDS) {
      const rows = this.table.listEntities({
        queryOptions: { select: ["RowKey"], filter: kindFilter(kind) },
        abortSignal: options.abortSignal,
      });
      for await (const _ of rows) n++;
    }
    return n;
  }

  /** Where the back-fill stands; undefined when it never started (the sink is new here). */
  async backfillState(options: StorageOptions = {}): Promise<BackfillState | undefined> {
    const e = await getEntityOrUndefined<BackfillState>(
      this.table,
      STATE.partitionKey,
      STATE.rowKey,
      options,
    );
    return e && { nextDay: e.nextDay, lastDay: e.lastDay, doneAt: e.doneAt };
  }

  async setBackfillState(state: BackfillState, options: StorageOptions = {}): Promise<void> {
    await this.table.upsertEntity({ ...STATE, ...state }, "Replace", {
      abortSignal: options.abortSignal,
    });
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
  return eventFromRow(kind, e.rowKey, e);
}
