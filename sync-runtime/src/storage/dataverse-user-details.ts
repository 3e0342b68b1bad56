import type { TableClient, TransactionAction } from "@azure/data-tables";
import type { StorageOptions } from "./options";

/** Azure Tables accepts at most 100 operations per transaction, all in one partition. */
const BATCH = 100;

/** An admin_auditlogs row whose user details are still to be filled in. */
export interface MissingDetails {
  /** The user's Entra object id (the record's UserKey), lower case. */
  userId: string;
  /** The row's key: the audit record's Id, lower case. */
  recordId: string;
  /** When the row was (last) written without them. */
  since: string;
}

type MissingDetailsEntity = { partitionKey: string; rowKey: string; since: string };

/**
 * Audit rows the Dataverse sink wrote without their user's details because Microsoft Graph failed
 * (403 while the User.Read.All consent propagates, 5xx, throttling past the retries): one row per
 * audit row, partitioned by user and keyed by the record Id, so writing one twice is one row and
 * a user's rows are read and removed together. A row written again while Graph still fails starts
 * its age again: it was written again, too.
 */
export class MissingUserDetails {
  constructor(private readonly table: TableClient) {}

  async add(
    rows: { userId: string; recordId: string }[],
    now: Date,
    options: StorageOptions = {},
  ): Promise<void> {
    const since = now.toISOString();
    for (const [partitionKey, keys] of byUser(rows)) {
      for (let i = 0; i < keys.length; i += BATCH) {
        const actions: TransactionAction[] = keys
          .slice(i, i + BATCH)
          .map((rowKey) => ["upsert", { partitionKey, rowKey, since }, "Replace"]);
        await this.table.submitTransaction(actions, { abortSignal: options.abortSignal });
      }
    }
  }

  /** The first `limit` rows, a user's rows together. */
  async first(limit: number, options: StorageOptions = {}): Promise<MissingDetails[]> {
    return this.read(undefined, limit, options);
  }

  /** Every row written without details before `before`. */
  async olderThan(before: Date, options: StorageOptions = {}): Promise<MissingDetails[]> {
    return this.read(`since lt '${before.toISOString()}'`, Infinity, options);
  }

  async remove(
    rows: Pick<MissingDetails, "userId" | "recordId">[],
    options: StorageOptions = {},
  ): Promise<void> {
    for (const [partitionKey, keys] of byUser(rows)) {
      for (let i = 0; i < keys.length; i += BATCH) {
        const actions: TransactionAction[] = keys
          .slice(i, i + BATCH)
          .map((rowKey) => ["delete", { partitionKey, rowKey }]);
        try {
          await this.table.submitTransaction(actions, { abortSignal: options.abortSignal });
        } catch (err) {
          // A row already gone fails its whole transaction: remove the others one by one.
          if ((err as { statusCode?: number }).statusCode !== 404) throw err;
          for (const [, { rowKey }] of actions as [string, { rowKey: string }][])
            await this.table.deleteEntity(partitionKey, rowKey, options).catch((e: unknown) => {
              if ((e as { statusCode?: number }).statusCode !== 404) throw e;
            });
        }
      }
    }
  }

  /** How many rows wait (a scan of keys only: the table is small unless Graph fails for long). */
  async count(options: StorageOptions = {}): Promise<number> {
    let n = 0;
    const rows = this.table.listEntities({
      queryOptions: { select: ["RowKey"] },
      abortSignal: options.abortSignal,
    });
    for await (const _ of rows) n++;
    return n;
  }

  private async read(
    filter: string | undefined,
    limit: number,
    options: StorageOptions,
  ): Promise<MissingDetails[]> {
    const out: MissingDetails[] = [];
    const pages = this.table
      .listEntities<MissingDetailsEntity>({
        queryOptions: {
          select: ["PartitionKey", "RowKey", "since"],
          ...(filter ? { filter } : {}),
        },
        abortSignal: options.abortSignal,
      })
      .byPage({ maxPageSize: 1000 });
    for await (const page of pages) {
      for (const e of page) {
        if (out.length >= limit) return out;
        out.push({ userId: e.partitionKey, recordId: e.rowKey, since: e.since });
      }
    }
    return out;
  }
}

/** Row keys by partition (user), lower case and without repeats. */
function byUser(rows: { userId: string; recordId: string }[]): Map<string, string[]> {
  const users = new Map<string, Set<string>>();
  for (const r of rows) {
    const user = r.userId.toLowerCase();
    let keys = users.get(user);
    if (!keys) users.set(user, (keys = new Set()));
    keys.add(r.recordId.toLowerCase());
  }
  return new Map([...users].map(([u, keys]) => [u, [...keys]]));
}
