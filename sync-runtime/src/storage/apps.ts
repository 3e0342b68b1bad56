import type { TableClient } from "@azure/data-tables";
import { tableKey } from "./keys";
import { foldAppState, type AppState } from "../domain/app-state";
import type { PowerAppEvent } from "../domain/records";
import { KnownRows, readModifyWrite } from "./entity";
import type { StorageOptions } from "./options";

const PARTITION = "app";

/**
 * Apps whose rows a runtime keeps as it last wrote them (ETag included), so a blob's update of an
 * app is one conditional write instead of a read and a write. A tenant with more apps reads the
 * least recently updated ones again; each row is a few hundred bytes.
 */
export const KNOWN_APPS = 20_000;

/**
 * The apps table: one row per app. Applies a blob's events to it. Updates for one app are serialised in-process and
 * guarded by the row's ETag, so concurrent blobs (or a second replica) cannot lose an update.
 * A row the events do not change is not written.
 */
export class AppsTable {
  private readonly locks = new Map<string, Promise<void>>();
  private readonly known: KnownRows<AppState>;
  constructor(
    private readonly table: TableClient,
    knownApps = KNOWN_APPS,
  ) {
    this.known = new KnownRows(knownApps);
  }

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
      (current) => {
        const before = current ? stripEntity(current) : undefined;
        const after = foldAppState(before ?? { appId }, events);
        return { write: before && sameState(before, after) ? undefined : after, result: undefined };
      },
      { ...options, what: `apps table: could not update app ${appId}`, known: this.known },
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

/** Whether two states hold the same values (a property set to undefined is one left out). */
function sameState(a: AppState, b: AppState): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)] as (keyof AppState)[]);
  return [...keys].every((k) => a[k] === b[k]);
}
