import type { TableClient, TransactionAction } from "@azure/data-tables";
import type { PowerAppEvent } from "../domain/records";
import { fromEntity, toEntity, type OutboxEntity } from "./dataverse-outbox";

/** Azure Tables accepts at most 100 operations per transaction, all in one partition. */
const BATCH = 100;

/** A launch or delete Dataverse refused for good, with what it said. */
export interface RejectedEvent {
  event: PowerAppEvent;
  /** The table whose write was refused (admin_auditlogs or admin_apps). */
  entitySet: string;
  status: number;
  /** Dataverse's error code (0x…) and message. */
  code?: string;
  message?: string;
}

/** How `gaps` lists a dead letter: what is missing from the CoE tables, and why. */
export interface DataverseRejectedGap {
  reason: "dataverseRejected";
  kind: PowerAppEvent["kind"];
  recordId: string;
  appId: string;
  creationTime: string;
  entitySet: string;
  status: number;
  detail: string;
  detectedAt: string;
}

type RejectedEntity = OutboxEntity & {
  entitySet: string;
  status: number;
  code?: string;
  message?: string;
  rejectedAt: string;
};

/**
 * The Dataverse sink's dead letters: events whose write Dataverse refused for good (a 4xx that is
 * neither throttling, nor access, nor a stale ETag), moved here out of the outbox so that the
 * rows behind them keep flowing. Keyed like the outbox (kind, record Id); `dataverse
 * retry-rejected` puts them back once the admin fixed the cause.
 */
export class DataverseRejected {
  constructor(private readonly table: TableClient) {}

  async add(rejected: RejectedEvent[], now: Date): Promise<void> {
    const byKind = new Map<string, Map<string, RejectedEntity>>();
    for (const r of rejected) {
      const rowKey = r.event.recordId.toLowerCase();
      let rows = byKind.get(r.event.kind);
      if (!rows) byKind.set(r.event.kind, (rows = new Map()));
      rows.set(rowKey, {
        ...toEntity(r.event.kind, rowKey, r.event),
        entitySet: r.entitySet,
        status: r.status,
        ...(r.code !== undefined ? { code: r.code } : {}),
        // Azure Tables holds at most 32K characters in a string property.
        ...(r.message !== undefined ? { message: r.message.slice(0, 4000) } : {}),
        rejectedAt: now.toISOString(),
      });
    }
    for (const rows of byKind.values()) {
      const entities = [...rows.values()];
      for (let i = 0; i < entities.length; i += BATCH) {
        const actions: TransactionAction[] = entities
          .slice(i, i + BATCH)
          .map((e) => ["upsert", e, "Replace"]);
        await this.table.submitTransaction(actions);
      }
    }
  }

  /** Every dead letter, oldest event first. */
  async list(): Promise<(RejectedEvent & { rejectedAt: string })[]> {
    const out: (RejectedEvent & { rejectedAt: string })[] = [];
    for await (const e of this.table.listEntities<RejectedEntity>()) {
      const kind = e.partitionKey === "delete" ? "delete" : "launch";
      out.push({
        event: fromEntity(kind, e),
        entitySet: e.entitySet,
        status: e.status,
        ...(e.code !== undefined ? { code: e.code } : {}),
        ...(e.message !== undefined ? { message: e.message } : {}),
        rejectedAt: e.rejectedAt,
      });
    }
    return out.sort((a, b) => (a.event.creationTime < b.event.creationTime ? -1 : 1));
  }

  /** The dead letters as `gaps` lists them. */
  async gaps(): Promise<DataverseRejectedGap[]> {
    return (await this.list()).map((r) => ({
      reason: "dataverseRejected",
      kind: r.event.kind,
      recordId: r.event.recordId,
      appId: r.event.appId,
      creationTime: r.event.creationTime,
      entitySet: r.entitySet,
      status: r.status,
      detail: `Dataverse answered HTTP ${r.status}${r.code ? ` ${r.code}` : ""}${r.message ? `: ${r.message}` : ""}`,
      detectedAt: r.rejectedAt,
    }));
  }

  async remove(events: PowerAppEvent[]): Promise<void> {
    for (const e of events) {
      try {
        await this.table.deleteEntity(e.kind, e.recordId.toLowerCase());
      } catch (err) {
        // Already gone (a retry that ran twice): nothing to remove.
        if ((err as { statusCode?: number }).statusCode !== 404) throw err;
      }
    }
  }

  async count(): Promise<number> {
    let n = 0;
    for await (const _ of this.table.listEntities({ queryOptions: { select: ["RowKey"] } })) n++;
    return n;
  }
}
