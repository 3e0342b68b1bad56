import { TABLES } from "../../contract";
import { createTokenProvider } from "../clients/auth";
import { DataverseClient } from "../clients/dataverse";
import { HttpClient } from "../clients/http/client";
import { RateLimiter } from "../clients/http/limiter";
import type { Logger } from "../core/log";
import type { Metrics } from "../core/metrics";
import type { Storage } from "../storage/account";
import { DataverseOutbox } from "../storage/dataverse-outbox";
import { DataverseRejected } from "../storage/dataverse-rejected";
import { MissingUserDetails } from "../storage/dataverse-user-details";
import type { EventsTable } from "../storage/events";
import type { RuntimeConfig } from "./config";
import {
  backfillOutbox,
  planBackfill,
  type BackfillProgress,
  type BackfillResult,
} from "./dataverse-backfill";
import {
  DATAVERSE_LIMITS,
  DataverseSink,
  type DrainProgress,
  type DrainResult,
  type UserDirectory,
} from "./dataverse-sink";
import type { RuntimeDeps } from "./runtime";

/** Progress of the sink's work, for a line on stderr. */
export type DataverseProgress =
  ({ phase: "backfill" } & BackfillProgress) | ({ phase: "drain" } & DrainProgress);

export interface DataverseWork {
  signal?: AbortSignal;
  onProgress?: (progress: DataverseProgress) => void;
}

export interface DataverseWiring {
  sink: DataverseSink;
  outbox: DataverseOutbox;
  rejected: DataverseRejected;
  /** Before a pass: when the sink is new here, notes what stored history it has to back-fill. */
  beforePass(): Promise<void>;
  /**
   * After a pass: back-fills stored history if the sink is new here (or resumes a back-fill cut
   * short), then drains; a failure becomes a log line and a metric: the events wait in the outbox.
   */
  drainLogged(work?: DataverseWork): Promise<void>;
  /** Back-fill (from `from`, a UTC day, or as the stored state says), then drain. */
  backfill(work: DataverseWork & { from?: string }): Promise<BackfillResult & DrainResult>;
  /** Puts the dead letters back into the outbox, then drains. */
  retryRejected(work: DataverseWork): Promise<DrainResult & { retried: number }>;
}

/**
 * The Dataverse sink when AUDIT_DATAVERSE_URL is set: its own HTTP client (its own rate limit,
 * under Dataverse's service protection limits, not the Management API's quota) and its own token,
 * from the same Entra app, for the scope {environment URL}/.default. Puts the outbox into the
 * store so every pass feeds it.
 */
export function createDataverseSink(
  config: RuntimeConfig,
  storage: Storage,
  store: { launches: EventsTable; deletes: EventsTable; dataverseOutbox?: DataverseOutbox },
  deps: RuntimeDeps & {
    metrics: Metrics;
    logger: Logger;
    now: () => Date;
    /** Where user details are read when AUDIT_DATAVERSE_USER_DETAILS is on. */
    users?: UserDirectory;
  },
): DataverseWiring | undefined {
  if (!config.dataverseUrl) return undefined;
  const { metrics, logger, now, users } = deps;
  const http = new HttpClient({
    agent: deps.agent,
    timeoutMs: config.httpTimeoutMs,
    limiter: new RateLimiter(DATAVERSE_LIMITS.ratePerMinute),
    retry: { maxRetries: config.maxRetries, ...deps.retry },
    metrics,
    logger,
    sleep: deps.sleep,
  });
  const tokens = createTokenProvider({ ...config, audience: config.dataverseUrl }, http);
  const outbox = new DataverseOutbox(storage.table(TABLES.dataverseOutbox));
  const rejected = new DataverseRejected(storage.table(TABLES.dataverseRejected));
  const missingDetails = users
    ? new MissingUserDetails(storage.table(TABLES.dataverseUserDetails))
    : undefined;
  store.dataverseOutbox = outbox;
  const sink = new DataverseSink({
    client: new DataverseClient({
      url: config.dataverseUrl,
      clientId: config.clientId,
      http,
      tokens,
      suppressFlows: config.dataverseSuppressFlows,
    }),
    outbox,
    rejected,
    metrics,
    logger,
    now,
    holdMs: config.dataverseHoldMs,
    users,
    missingDetails,
  });
  const backfillDeps = {
    launches: store.launches,
    deletes: store.deletes,
    outbox,
    metrics,
    logger,
    now,
  };
  /**
   * Without a progress line to feed (serve), progress goes to the log, at most once a minute: a
   * back-fill of months runs for a long time inside a pass.
   */
  let lastLogged = 0;
  const logProgress = (p: DataverseProgress) => {
    const t = Date.now();
    if (t - lastLogged < 60_000) return;
    lastLogged = t;
    logger.info(
      p.phase === "backfill" ? "dataverse back-fill progress" : "dataverse drain progress",
      p.phase === "backfill"
        ? { day: p.day, daysDone: p.daysDone, days: p.days, events: p.events }
        : { handled: p.handled, total: p.total, ...p.result },
    );
  };
  const withProgress = <T extends DataverseWork>(work: T): T => ({
    ...work,
    onProgress: work.onProgress ?? logProgress,
  });
  const drain = (work: DataverseWork) =>
    sink.drain({
      signal: work.signal,
      onProgress: work.onProgress && ((p) => work.onProgress!({ phase: "drain", ...p })),
    });
  const fill = (work: DataverseWork & { from?: string }) =>
    backfillOutbox(backfillDeps, {
      from: work.from,
      signal: work.signal,
      onProgress: work.onProgress && ((p) => work.onProgress!({ phase: "backfill", ...p })),
    });
  const gauges = async () => {
    try {
      metrics.set("audit_dataverse_pending", await outbox.count());
      metrics.set("audit_dataverse_dead_letters", await rejected.count());
      if (missingDetails)
        metrics.set("audit_dataverse_user_details_pending", await missingDetails.count());
    } catch {
      // The gauges are informational; storage trouble shows in the pass itself.
    }
  };
  return {
    sink,
    outbox,
    rejected,
    beforePass: () => planBackfill(backfillDeps),
    async drainLogged(given = {}) {
      const work = withProgress(given);
      try {
        await fill(work);
        await drain(work);
      } catch (err) {
        if (work.signal?.aborted) throw err;
        metrics.inc("audit_dataverse_failures_total");
        logger.error("writing to Dataverse failed; the events wait in the outbox table", {
          error: err as Error,
          todo: "the Azure Storage archive and the reports are complete; the next pass writes the waiting events to Dataverse",
        });
      }
      await gauges();
    },
    async backfill(work) {
      try {
        const filled = await fill(work);
        return { ...filled, ...(await drain(work)) };
      } finally {
        await gauges();
      }
    },
    async retryRejected(work) {
      try {
        const letters = await rejected.list();
        await outbox.add(letters.map((l) => l.event));
        await rejected.remove(letters.map((l) => l.event));
        return { retried: letters.length, ...(await drain(work)) };
      } finally {
        await gauges();
      }
    },
  };
}
