import type { TableClient } from "@azure/data-tables";
import { tableKey } from "./keys";
import { foldAppState, type AppState } from "../domain/app-state";
import type { PowerAppEvent } from "../domain/records";
import { readModifyWrite } from "./entity";
import type { StorageOptions } from "./options";

const PARTITION = "app";

/**
 * The apps table: one row per app. Applies a blob's events to it. Updates for one app are serialised in-process and
 * guarded by the row's ETag, so concurrent blobs (or a second replica) cannot lose an update.
 */
export class AppsTable {
  private readonly locks = new Map<string, Promise<void>>();
  constructor(private readonly table: TableClient) {}

  async apply(events: PowerAppEvent[], options: StorageOptions = {}): Promise<void> {
    const byApp = new Map<string, PowerAppEvent[]>();
    for (const e of events) {
      const list = byApp.get(e.appId) ?? [];
      list.push(e);
      byApp.set(e.appId, list);
    }
    await Promise.all(
      [...byApp].map(([appId, list]) =>
        this.withLock(appId, () => this.update(appId, list, options)),
      ),
    );
  }

  async list(options: StorageOptions = {}): Promise<AppState[]> {
    const out: AppState[] = [];
    for await (const e of this.table.listEntities<AppState>({ abortSignal: options.abortSignal }))
      out.push(stripEntity(e));
    return out;
  }

  /** Folds the events into the app's row; a conflict means someone else wrote: re-read, re-fold. */
  private async update(
    appId: string,
    events: PowerAppEvent[],
    options: StorageOptions,
  ): Promise<void> {
    await readModifyWrite<AppState, void>(
      this.table,
      { partitionKey: PARTITION, rowKey: tableKey(appId) },
      (current) => ({
        write: foldAppState(current ? stripEntity(current) : { appId }, events),
        result: undefined,
      }),
      { ...options, what: `apps table: could not update app ${appId}` },
    );
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
