import type { TableClient, TransactionAction } from "@azure/data-tables";
import { StorageError } from "../core/errors";
import { decodeIdSet, encodeIdSet } from "../domain/id-set";
import type { Stamped, StoredRollup } from "../domain/rollup";
import { tableKey } from "./keys";
import type { StorageOptions } from "./options";
import { UserDictionary } from "./user-ids";

/**
 * The rollups table: one row per app and UTC day (partition = the day, row = the app id), which
 * the usage report reads instead of the events. Three more partitions, outside any day's range
 * ("~" sorts after digits): `~dirty` lists the days whose events changed since they were rolled
 * up (written before the events, so a pass killed in between leaves the mark and the day is
 * rolled up again), `~meta` says the rollups were built from every stored event in this row
 * format (storage written before rollups existed, or by a version with another format, has no
 * such row until `rebuild-rollups` or the next pass), and `~users` holds the user dictionary
 * whose ids the rows' user sets hold (./user-ids.ts).
 */
const DIRTY = "~dirty";
const META = "~meta";
const META_ROW = "rollups";
/**
 * Version of the row format; a different one means "rebuild". 1: users as gzip-compressed UPNs;
 * 2: users as an encoded set of dictionary ids (sync-runtime/src/domain/id-set.ts).
 */
const FORMAT = 2;

/** Azure Tables: a Binary property holds at most 64 KiB, an entity at most 1 MiB. */
const CHUNK_BYTES = 64 * 1024;
const MAX_CHUNKS = 14;
/** A transaction: at most 100 operations and 4 MiB. */
const BATCH = 100;
const BATCH_BYTES = 3 * 1024 * 1024;

/** The row as stored: the users' id set in 64 KiB Binary properties `userIds0`, `userIds1`... */
export type RollupEntity = Record<string, string | number | boolean | Uint8Array>;

export function toRollupEntity(r: StoredRollup): RollupEntity {
  const users = encodeIdSet(r.users);
  const chunks = Math.ceil(users.length / CHUNK_BYTES);
  // A set takes at most one bit per user of the tenant: this needs over 7 million users.
  if (chunks > MAX_CHUNKS) {
    throw new StorageError(
      `rollups table: the ${r.users.length} users of app ${r.appId} on ${r.day} take ${users.length} bytes, more than one table row holds. The report reads that day from the events instead; nothing is lost.`,
    );
  }
  const entity: RollupEntity = {
    partitionKey: r.day,
    rowKey: tableKey(r.appId),
    appId: r.appId,
    launches: r.launches,
    userCount: r.users.length,
    userIdChunks: chunks,
    firstAt: r.firstAt,
    lastAt: r.lastAt,
    deleted: r.deleted,
  };
  for (let i = 0; i < chunks; i++) {
    entity[`userIds${i}`] = users.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES);
  }
  stamp(entity, "lastLaunch", r.lastLaunch);
  stamp(entity, "appName", r.appName);
  stamp(entity, "environmentId", r.environmentId);
  return entity;
}

export function fromRollupEntity(e: Record<string, unknown>): StoredRollup {
  if (typeof e.userIdChunks !== "number") {
    throw new StorageError(
      `rollups table: the row of app ${String(e.appId)} on ${String(e.partitionKey)} is in an older format although the table says it was rebuilt. Run \`rebuild-rollups\`.`,
    );
  }
  const parts: Uint8Array[] = [];
  for (let i = 0; i < e.userIdChunks; i++) parts.push(e[`userIds${i}`] as Uint8Array);
  let users: Uint32Array;
  try {
    users = decodeIdSet(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
  } catch (cause) {
    throw new StorageError(
      `rollups table: the users of app ${String(e.appId)} on ${String(e.partitionKey)} cannot be read (${(cause as Error).message}). Run \`rebuild-rollups\`.`,
      { cause },
    );
  }
  const lastLaunch = unstamp(e, "lastLaunch");
  const appName = unstamp(e, "appName");
  const environmentId = unstamp(e, "environmentId");
  return {
    day: String(e.partitionKey),
    appId: String(e.appId),
    launches: Number(e.launches),
    users,
    firstAt: String(e.firstAt),
    lastAt: String(e.lastAt),
    // A launch without a UPN is stored without the value (Tables cannot store null).
    ...(lastLaunch ? { lastLaunch: { ...lastLaunch, value: lastLaunch.value ?? null } } : {}),
    deleted: e.deleted === true,
    ...(appName?.value ? { appName: { ...appName, value: appName.value } } : {}),
    ...(environmentId?.value
      ? { environmentId: { ...environmentId, value: environmentId.value } }
      : {}),
  };
}

function stamp(entity: RollupEntity, name: string, s: Stamped<string | null> | undefined): void {
  if (!s) return;
  entity[`${name}At`] = s.at;
  entity[`${name}Id`] = s.recordId;
  if (s.value !== null) entity[name] = s.value;
}

function unstamp(
  e: Record<string, unknown>,
  name: string,
): { at: string; recordId: string; value: string | undefined } | undefined {
  if (typeof e[`${name}At`] !== "string") return undefined;
  return {
    at: e[`${name}At`] as string,
    recordId: String(e[`${name}Id`]),
    value: typeof e[name] === "string" ? (e[name] as string) : undefined,
  };
}

function entityBytes(e: RollupEntity): number {
  let n = 0;
  for (const v of Object.values(e)) n += v instanceof Uint8Array ? v.length : String(v).length * 2;
  return n + 512;
}

export class RollupsTable {
  constructor(private readonly table: TableClient) {}

  /** Marks days as changed. Idempotent; every write changes the mark's ETag. */
  async markDirty(days: Iterable<string>, options: StorageOptions = {}): Promise<void> {
    const unique = [...new Set(days)];
    for (let i = 0; i < unique.length; i += BATCH) {
      const actions: TransactionAction[] = unique
        .slice(i, i + BATCH)
        .map((day) => ["upsert", { partitionKey: DIRTY, rowKey: day, day }, "Replace"]);
      await this.table.submitTransaction(actions, { abortSignal: options.abortSignal });
    }
  }

  /** The days marked dirty, each with the ETag of its mark. */
  async dirtyDays(options: StorageOptions = {}): Promise<Map<string, string>> {
    const days = new Map<string, string>();
    const filter = `PartitionKey eq '${DIRTY}'`;
    const rows = this.table.listEntities({
      queryOptions: { filter },
      abortSignal: options.abortSignal,
    });
    for await (const e of rows) {
      days.set(e.rowKey!, e.etag);
    }
    return days;
  }

  /**
   * Removes a day's mark unless it was written again since `etag` was read (then the day is
   * rolled up again next time).
   */
  async clearDirty(day: string, etag: string, options: StorageOptions = {}): Promise<void> {
    try {
      await this.table.deleteEntity(DIRTY, day, { etag, abortSignal: options.abortSignal });
    } catch (err) {
      const status = (err as { statusCode?: number }).statusCode;
      if (status !== 404 && status !== 412) throw err;
    }
  }

  /** Whether every stored event has been rolled up or marked dirty (see the class comment). */
  async isBuilt(options: StorageOptions = {}): Promise<boolean> {
    const filter = `PartitionKey eq '${META}' and RowKey eq '${META_ROW}'`;
    for await (const e of this.table.listEntities<{ format?: number }>({
      queryOptions: { filter },
      abortSignal: options.abortSignal,
    })) {
      return e.format === FORMAT;
    }
    return false;
  }

  /** The user dictionary the rows' ids come from, as stored now. */
  loadUserIds(options: StorageOptions = {}): Promise<UserDictionary> {
    return UserDictionary.load(this.table, options);
  }

  async markBuilt(options: StorageOptions = {}): Promise<void> {
    await this.table.upsertEntity(
      { partitionKey: META, rowKey: META_ROW, format: FORMAT },
      "Replace",
      { abortSignal: options.abortSignal },
    );
  }

  /**
   * Replaces the stored rollups of one day. Rollups are derived from the day's events, which are
   * only ever added, so every app of the old set is in the new one: upserts suffice.
   */
  async writeDay(
    day: string,
    rollups: StoredRollup[],
    options: StorageOptions = {},
  ): Promise<void> {
    const { abortSignal } = options;
    let batch: TransactionAction[] = [];
    let bytes = 0;
    for (const r of rollups) {
      if (r.day !== day) throw new Error(`rollup of ${r.day} written as ${day}`);
      const entity = toRollupEntity(r);
      const size = entityBytes(entity);
      if (batch.length === BATCH || (batch.length > 0 && bytes + size > BATCH_BYTES)) {
        await this.table.submitTransaction(batch, { abortSignal });
        batch = [];
        bytes = 0;
      }
      batch.push([
        "upsert",
        entity as RollupEntity & { partitionKey: string; rowKey: string },
        "Replace",
      ]);
      bytes += size;
    }
    if (batch.length > 0) await this.table.submitTransaction(batch, { abortSignal });
  }

  /** The stored rollups of the UTC days `firstDay`..`lastDay` (inclusive), as they arrive. */
  async *read(
    firstDay: string,
    lastDay: string,
    options: StorageOptions = {},
  ): AsyncGenerator<StoredRollup> {
    const filter = `PartitionKey ge '${firstDay}' and PartitionKey le '${lastDay}'`;
    const rows = this.table.listEntities({
      queryOptions: { filter },
      abortSignal: options.abortSignal,
    });
    for await (const e of rows) {
      yield fromRollupEntity(e);
    }
  }
}
