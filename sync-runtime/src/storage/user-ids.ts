import { gunzipSync, gzipSync } from "node:zlib";
import type { TableClient } from "@azure/data-tables";
import { StorageError } from "../core/errors";
import { UserIds } from "../domain/user-ids";
import type { StorageOptions } from "./options";

/**
 * The user dictionary (sync-runtime/src/domain/user-ids.ts) in the rollups table's `~users`
 * partition, outside any day's range: pages of consecutive ids, each row keyed by its first id
 * (zero-padded, so rows list in id order) and holding its UPNs as gzip-compressed JSON. Only the
 * last page grows, by a conditional replace of itself with the same UPNs and more; the others
 * never change. A page write is one entity, so a roll-up killed in between leaves a dictionary
 * that is a prefix of what it meant to write, and ids are stored before any rollup uses them.
 */
const USERS = "~users";
/** Azure Tables: a Binary property holds at most 64 KiB, an entity at most 1 MiB. */
const CHUNK_BYTES = 64 * 1024;
/**
 * UTF-8 bytes of a page's JSON before compression: gzip adds little even to random text, so a
 * page fits in the 14 chunks an entity holds (about 20,000 UPNs of 30 characters).
 */
const PAGE_BYTES = 768 * 1024;

interface Page {
  firstId: number;
  count: number;
  bytes: number;
  etag: string;
}

function pageKey(firstId: number): string {
  return String(firstId).padStart(10, "0");
}

/** A UPN's share of the page's JSON: itself, escaped and quoted, and a comma. */
function upnBytes(upn: string): number {
  return Buffer.byteLength(JSON.stringify(upn), "utf8") + 1;
}

export class UserDictionary {
  private constructor(
    private readonly table: TableClient,
    /** The dictionary as loaded plus the ids assigned since. */
    readonly ids: UserIds,
    private last: Page | undefined,
    private readonly abortSignal: AbortSignal | undefined,
  ) {}

  /** Reads every page; throws StorageError when they are not one run of ids from 0. */
  static async load(table: TableClient, options: StorageOptions = {}): Promise<UserDictionary> {
    const upns: string[] = [];
    let last: Page | undefined;
    const filter = `PartitionKey eq '${USERS}'`;
    const rows = table.listEntities({ queryOptions: { filter }, abortSignal: options.abortSignal });
    for await (const e of rows) {
      const firstId = Number(e.firstId);
      const parts: Uint8Array[] = [];
      for (let i = 0; i < Number(e.chunks); i++) parts.push(e[`upns${i}`] as Uint8Array);
      const page = JSON.parse(gunzipSync(Buffer.concat(parts)).toString("utf8")) as string[];
      if (firstId !== upns.length || page.length !== Number(e.count)) {
        throw new StorageError(
          `rollups table: the user dictionary page ${e.rowKey} holds ids ${firstId}..${firstId + page.length - 1} where id ${upns.length} comes next. Delete the rollups table and run \`rebuild-rollups\`.`,
        );
      }
      for (const upn of page) upns.push(upn);
      last = { firstId, count: page.length, bytes: Number(e.bytes), etag: e.etag };
    }
    return new UserDictionary(table, new UserIds(upns), last, options.abortSignal);
  }

  /** Stores the ids assigned since loading; nothing when there are none. */
  async save(): Promise<void> {
    const { firstId, upns } = this.ids.unstored();
    if (upns.length === 0) return;
    let next = 0;
    // Fill the last page first, so a dictionary grown a few users at a time keeps few pages.
    let page: Page = this.last ?? { firstId, count: 0, bytes: 0, etag: "" };
    while (next < upns.length) {
      if (page.count > 0 && page.bytes + upnBytes(upns[next]!) > PAGE_BYTES) {
        page = { firstId: page.firstId + page.count, count: 0, bytes: 0, etag: "" };
      }
      let { count, bytes } = page;
      while (next < upns.length && (count === 0 || bytes + upnBytes(upns[next]!) <= PAGE_BYTES)) {
        bytes += upnBytes(upns[next++]!);
        count++;
      }
      page = await this.write({ ...page, count, bytes });
    }
    this.last = page;
    this.ids.markStored();
  }

  private async write(page: Page): Promise<Page> {
    const upns: string[] = [];
    for (let id = page.firstId; id < page.firstId + page.count; id++)
      upns.push(this.ids.upnOf(id)!);
    const packed = gzipSync(JSON.stringify(upns));
    const chunks = Math.ceil(packed.length / CHUNK_BYTES);
    const entity: Record<string, string | number | Uint8Array> = {
      partitionKey: USERS,
      rowKey: pageKey(page.firstId),
      firstId: page.firstId,
      count: page.count,
      bytes: page.bytes,
      chunks,
    };
    for (let i = 0; i < chunks; i++) {
      entity[`upns${i}`] = new Uint8Array(packed.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES));
    }
    const e = entity as typeof entity & { partitionKey: string; rowKey: string };
    // A new page must not exist yet and a grown one must be as read: a second writer fails here.
    const { abortSignal } = this;
    const response = page.etag
      ? await this.table.updateEntity(e, "Replace", { etag: page.etag, abortSignal })
      : await this.table.createEntity(e, { abortSignal });
    return { ...page, etag: response.etag! };
  }
}
