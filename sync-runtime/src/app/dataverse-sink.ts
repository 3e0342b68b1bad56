import type { DataverseClient, DataverseWrite } from "../clients/dataverse";
import type { Logger } from "../core/log";
import type { Metrics } from "../core/metrics";
import { APPS, appUpdate, AUDIT_LOGS, auditLogRow, type CoeAppState } from "../domain/coe-rows";
import type { PowerAppEvent } from "../domain/records";
import type { DataverseOutbox } from "../storage/dataverse-outbox";
import { TaskPool } from "./pool";

/**
 * Dataverse's service protection limits, per user and 5-minute sliding window (learn.microsoft.com,
 * "Service protection API limits"): 6,000 requests and 52 concurrent ones. The sink keeps well under
 * both by itself; a 429 that still comes is waited out (Retry-After) by the HTTP client.
 */
export const DATAVERSE_LIMITS = {
  /** Requests per minute the sink allows itself: 5,000 per 5 minutes, under the 6,000. */
  ratePerMinute: 1000,
  /** Batches in flight at once (each one connection): far under the 52. */
  concurrency: 4,
  /** Writes per change set: one failing write rolls back only its few neighbours. */
  changeSetSize: 10,
  /** Writes per $batch (the Web API takes up to 1,000). */
  batchSize: 100,
  /** Events taken from the outbox per round. */
  round: 1000,
};

export interface DrainResult {
  launchesWritten: number;
  deletesApplied: number;
  /** Launches written without the app lookup: the app is not (yet) in admin_apps. */
  launchesWithoutApp: number;
  /** Deletes of apps admin_apps does not have: nothing to mark (the flow does the same). */
  deletesWithoutApp: number;
  appsUpdated: number;
  pending: number;
}

export interface DataverseSinkDeps {
  client: DataverseClient;
  outbox: DataverseOutbox;
  metrics: Metrics;
  logger: Logger;
}

/**
 * Drains the outbox into the CoE tables: per round, reads the apps it concerns, upserts one
 * admin_auditlogs row per launch, moves admin_apps forward, and only then removes the events from
 * the outbox. Killed anywhere, the next drain writes the same rows again, which changes nothing.
 */
export class DataverseSink {
  /** admin_apps as last read or written (undefined: not in admin_apps). */
  private readonly apps = new Map<string, CoeAppState | undefined>();

  constructor(private readonly deps: DataverseSinkDeps) {}

  async drain(signal?: AbortSignal): Promise<DrainResult> {
    const result: DrainResult = {
      launchesWritten: 0,
      deletesApplied: 0,
      launchesWithoutApp: 0,
      deletesWithoutApp: 0,
      appsUpdated: 0,
      pending: 0,
    };
    for (;;) {
      signal?.throwIfAborted();
      const events = await this.deps.outbox.take(DATAVERSE_LIMITS.round);
      if (events.length === 0) break;
      try {
        await this.writeRound(events, result, signal);
      } catch (err) {
        // What admin_apps holds may have changed (an app removed by the inventory): read it again.
        this.apps.clear();
        throw err;
      }
      signal?.throwIfAborted();
      await this.deps.outbox.remove(events);
      if (events.length < DATAVERSE_LIMITS.round) break;
    }
    const { metrics } = this.deps;
    metrics.inc("audit_dataverse_rows_written_total", {}, result.launchesWritten);
    metrics.inc("audit_dataverse_launches_without_app_total", {}, result.launchesWithoutApp);
    metrics.inc("audit_dataverse_apps_updated_total", {}, result.appsUpdated);
    this.deps.logger.info("dataverse synced", { ...result });
    return result;
  }

  private async writeRound(
    events: PowerAppEvent[],
    result: DrainResult,
    signal?: AbortSignal,
  ): Promise<void> {
    const byApp = new Map<string, PowerAppEvent[]>();
    for (const e of events) {
      const id = e.appId.toLowerCase();
      byApp.set(id, [...(byApp.get(id) ?? []), e]);
    }
    await this.loadApps([...byApp.keys()], signal);
    const writes: DataverseWrite[] = [];
    const nextStates = new Map<string, CoeAppState>();
    for (const [appId, appEvents] of byApp) {
      const state = this.apps.get(appId);
      for (const e of appEvents) {
        if (e.kind === "launch") {
          writes.push({ entitySet: AUDIT_LOGS, id: e.recordId, body: auditLogRow(e, !!state) });
          result.launchesWritten++;
          if (!state) result.launchesWithoutApp++;
        } else if (!state) result.deletesWithoutApp++;
        else result.deletesApplied++;
      }
      const update = state && appUpdate(state, appEvents);
      if (update) {
        // Update only: the CoE inventory flows own the creation of admin_apps rows.
        writes.push({ entitySet: APPS, id: appId, body: update.body, updateOnly: true });
        nextStates.set(appId, update.next);
        result.appsUpdated++;
      }
    }
    const pool = new TaskPool(DATAVERSE_LIMITS.concurrency);
    for (let i = 0; i < writes.length; i += DATAVERSE_LIMITS.batchSize) {
      const slice = writes.slice(i, i + DATAVERSE_LIMITS.batchSize);
      const changeSets: DataverseWrite[][] = [];
      for (let j = 0; j < slice.length; j += DATAVERSE_LIMITS.changeSetSize)
        changeSets.push(slice.slice(j, j + DATAVERSE_LIMITS.changeSetSize));
      if (pool.failed) break;
      await pool.submit(() => this.deps.client.batch(changeSets, signal));
    }
    await pool.drain();
    for (const [appId, next] of nextStates) this.apps.set(appId, next);
  }

  private async loadApps(appIds: string[], signal?: AbortSignal): Promise<void> {
    const pool = new TaskPool(DATAVERSE_LIMITS.concurrency);
    for (const appId of appIds.filter((id) => !this.apps.has(id))) {
      await pool.submit(async () => {
        const row = await this.deps.client.get(
          APPS,
          appId,
          ["admin_applastlaunchedon", "admin_appdeleted", "admin_appdeletedon"],
          signal,
        );
        this.apps.set(
          appId,
          row && {
            lastLaunchedOn: (row.admin_applastlaunchedon as string | null) ?? null,
            deleted: row.admin_appdeleted === true,
            deletedOn: (row.admin_appdeletedon as string | null) ?? null,
          },
        );
      });
    }
    await pool.drain();
  }
}
