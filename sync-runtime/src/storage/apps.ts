import type { TableClient } from "@azure/data-tables";
import { tableKey } from "./keys";
import { foldAppState, type AppState } from "../domain/app-state";
import type { PowerAppEvent } from "../domain/records";
import { getEntityOrUndefined } from "./entity";

const PARTITION = "app";

/**
 * The apps table: one row per app. Applies a blob's events to it. Updates for one app are serialised in-process and
 * guarded by the row's ETag, so concurrent blobs (or a second replica) cannot lose an update.
 */
export class AppsTable {
  private readonly locks = new Map<string, Promise<void>>();
  constructor(private readonly table: TableClient) {}

  async apply(events: PowerAppEvent[]): Promise<void> {
    const byApp = new Map<string, PowerAppEvent[]>();
    for (const e of events) {
      const list = byApp.get(e.appId) ?? [];
      list.push(e);
      byApp.set(e.appId, list);
    }
    await Promise.all(
      [...byApp].map(([appId, list]) => this.withLock(appId, () => this.update(appId, list))),
    );
  }

  async list(): Promise<AppState[]> {
    const out: AppState[] = [];
    for await (const e of this.table.listEntities<AppState>()) out.push(stripEntity(e));
    return out;
  }

  private async update(appId: string, events: PowerAppEvent[]): Promise<void> {
    const rowKey = tableKey(appId);
    // Bounded optimistic concurrency: a conflict means someone else wrote; re-read and re-fold.
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await getEntityOrUndefined<AppState>(this.table, PARTITION, rowKey);
      const base: AppState = current ? stripEntity(current) : { appId };
      const next = foldAppState(base, events);
      try {
        if (current) {
          await this.table.updateEntity({ partitionKey: PARTITION, rowKey, ...next }, "Replace", {
            etag: current.etag,
          });
        } else {
          await this.table.createEntity({ partitionKey: PARTITION, rowKey, ...next });
        }
        return;
      } catch (err) {
        const status = (err as { statusCode?: number }).statusCode;
        if (status !== 412 && status !== 409) throw err;
      }
    }
    throw new Error(`apps table: could not update app ${appId} after 5 conflicting writes`);
  }

  private async withLock(key: string, fn: () => Promise<void>): Promise<void> {
    const previous = this.locks.get(key) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const settled = run.catch(() => undefined);
    this.locks.set(key, settled);
    try {
      await run;
    } finally {
      if (this.locks.get(key) === settled) this.locks.delete(key);
    }
  }
}

function stripEntity(
  e: AppState & { partitionKey?: string; rowKey?: string; etag?: string; timestamp?: string },
): AppState {
  const { partitionKey: _p, rowKey: _r, etag: _e, timestamp: _t, ...state } = e;
  return state;
}
