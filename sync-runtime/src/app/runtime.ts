import { setMaxListeners } from "node:events";
import type { Agent } from "node:https";
import type { TokenCredential } from "@azure/identity";
import { ActivityApi } from "../clients/activity-api";
import { createTokenProvider } from "../clients/auth";
import { secretValues, type RuntimeConfig } from "./config";
import { HttpClient } from "../clients/http/client";
import { RateLimiter } from "../clients/http/limiter";
import type { RetryPolicy } from "../clients/http/retry";
import { createLogger, type Logger } from "../core/log";
import { Metrics } from "../core/metrics";
import type { ProgressSnapshot } from "../domain/progress-snapshot";
import { WrittenIds } from "../domain/written-ids";
import type { UsageReport } from "../domain/usage-report";
import { TABLES } from "../../contract";
import { LeaseHeldError } from "../core/errors";
import { AppsTable } from "../storage/apps";
import {
  LEASE_BLOB,
  PassLease,
  type HeldLease,
  type PassLeaseOptions,
} from "../storage/pass-lease";
import type { DataverseOutbox } from "../storage/dataverse-outbox";
import { EventsTable } from "../storage/events";
import { RollupsTable } from "../storage/rollups";
import { Quarantine } from "../storage/quarantine";
import { RawArchive } from "../storage/raw-archive";
import { ReportFiles } from "../storage/report-files";
import { Checkpoints } from "../storage/checkpoints";
import { ContentIds } from "../storage/content-ids";
import { Gaps } from "../storage/gaps";
import { GraphQueryLog } from "../storage/graph-queries";
import { openStorage, type Storage } from "../storage/account";
import { runPass, type ContentTypeResult } from "./pass";
import type { PaceSignals } from "./window-pipeline";
import { findInactiveApps } from "../domain/inactive-apps";
import { buildUsageReport } from "./usage-report";
import { GraphAuditApi } from "../clients/graph-audit";
import { GraphUsersApi } from "../clients/graph-users";
import { fillGapsFromGraph, type GapFillResult } from "./gap-fill";
import { runGraphPass, type GraphPassOptions, type GraphPassResult } from "./graph-pass";
import { createDataverseSink, type DataverseProgress } from "./dataverse-wiring";
import type { DrainResult } from "./dataverse-sink";
import type { BackfillResult } from "./dataverse-backfill";
import type { DataverseRejectedGap } from "../storage/dataverse-rejected";
import { markEveryDayDirty, rebuildRollups, rollUpDirtyDays } from "./rollups";

/** What tests (and only tests, mostly) inject; the CLI uses the defaults. */
export interface RuntimeDeps {
  /** An https.Agent trusting a private CA (the emulator's), for in-process use. */
  agent?: Agent;
  /** The clock that decides windows and checkpoints; tests pass the emulator's simulated clock. */
  now?: () => Date;
  logger?: Logger;
  metrics?: Metrics;
  credential?: TokenCredential;
  retry?: Partial<RetryPolicy>;
  /** Lease timings (tests use short ones). */
  lease?: PassLeaseOptions;
  /** How retry backoff waits (default: a real, abortable sleep). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Graph source: polling of running queries (tests poll fast). */
  graphPolling?: Pick<
    GraphPassOptions,
    "pollIntervalMs" | "maxQueryWaitMs" | "maxSubmitWaitMs" | "sleep"
  >;
}

export interface SyncRequest {
  from?: Date;
  to?: Date;
  onProgress?: (snapshot: ProgressSnapshot) => void;
  signal?: AbortSignal;
  /**
   * When another runtime holds the one-writer lease: "wait" until it is free (once), or "skip"
   * this pass with a LeaseHeldError (serve: the next pass tries again). Default "wait".
   */
  whenLeaseHeld?: "wait" | "skip";
  /** Progress of the Dataverse sink's back-fill and drain after the pass (AUDIT_DATAVERSE_URL). */
  onDataverseProgress?: (progress: DataverseProgress) => void;
}

/** The Dataverse sink's commands (AUDIT_DATAVERSE_URL), each holding the one-writer lease. */
export interface DataverseCommands {
  /** Puts stored history into the outbox (from `from`, a UTC day, or where it stood), then drains. */
  backfill(request: SyncRequest & { fromDay?: string }): Promise<BackfillResult & DrainResult>;
  /** Sends the dead letters again (after the cause was fixed in Dataverse). */
  retryRejected(request: SyncRequest): Promise<DrainResult & { retried: number }>;
  /** The dead letters as `gaps` lists them. */
  rejectedGaps(): Promise<DataverseRejectedGap[]>;
}

export interface Runtime {
  config: RuntimeConfig;
  api: ActivityApi;
  storage: Storage;
  store: Stores;
  metrics: Metrics;
  logger: Logger;
  now: () => Date;
  /** Creates the tables and containers once; every other method calls it first. */
  ready(): Promise<void>;
  sync(request?: SyncRequest): Promise<ContentTypeResult[]>;
  /** Microsoft Graph's audit log query API (AUDIT_SOURCE=graph, and gap fills). */
  graph: GraphAuditApi;
  /** One pass of the Graph source: same lease, tables and de-duplication as sync(). */
  syncGraph(request?: SyncRequest): Promise<GraphPassResult>;
  /** Re-reads every recorded gap of the Management API path from Graph, then marks it filled. */
  fillGaps(request?: SyncRequest): Promise<GapFillResult>;
  /**
   * Writes what the outbox holds to Dataverse (AUDIT_DATAVERSE_URL); sync() calls it after each
   * pass and logs a failure instead of failing the pass. Undefined when the sink is off.
   */
  syncDataverse?(signal?: AbortSignal): Promise<DrainResult>;
  /** The sink's back-fill, retry of dead letters and their listing; undefined when the sink is off. */
  dataverse?: DataverseCommands;
  /**
   * The usage report of the window; with `staleDays`, also the all-time inactiveApps (one scan of
   * the apps table) and the staleDays they were computed with.
   */
  report(
    window: { from: Date; to: Date },
    options?: { staleDays?: number; signal?: AbortSignal },
  ): Promise<UsageReport>;
  /** Rebuilds every day's rollups from the stored events, holding the one-writer lease. */
  rebuildRollups(request?: { signal?: AbortSignal }): Promise<string[]>;
}

/** Wires configuration into the clients, stores and the sync pass. No I/O until called. */
export function createRuntime(config: RuntimeConfig, deps: RuntimeDeps = {}): Runtime {
  const metrics = deps.metrics ?? new Metrics();
  const logger =
    deps.logger ?? createLogger({ level: config.logLevel, secrets: secretValues(config) });
  const now = deps.now ?? (() => new Date());
  const { http, api, graph, graphUsers } = createClients(config, deps, metrics, logger);
  const storage = openStorage(config.storage, deps.credential);
  const store = openStores(storage);
  const dataverse = createDataverseSink(config, storage, store, {
    ...deps,
    metrics,
    logger,
    now,
    users: config.dataverseUserDetails ? graphUsers : undefined,
  });
  const ready = ensureOnce(storage);
  const withLease = leaseRunner(
    new PassLease(storage.leases, { durationSeconds: config.leaseSeconds, ...deps.lease }),
    { ready, metrics, logger },
    // The Dataverse sink plans a back-fill of stored history before the first pass it sees.
    () => dataverse?.beforePass(),
  );
  const writtenIds = new WrittenIds();
  const passContext = { api, store, metrics, logger, now, writtenIds };
  // The pool of blobs in flight follows the API client's own traffic (see PaceSignals).
  const pace: PaceSignals = {
    ratePerMinute: config.rateLimitPerMinute,
    read: () => http.traffic(),
  };

  // The Graph source's ledger: its submissions per 24 hours and each day's query, across restarts.
  const queries = new GraphQueryLog(storage.table(TABLES.graphQueries));
  const graphContext = { graph, queries, store, metrics, logger, now, writtenIds };

  /**
   * After a pass of any source, inside its lease: the days it wrote are rolled up (what reports
   * read) and the Dataverse sink catches up. Neither fails the pass: its events are stored.
   */
  const afterPass = async (signal: AbortSignal, request: SyncRequest): Promise<void> => {
    await rollUpDirtyDays(store, logger, signal);
    await dataverse?.drainLogged({ signal, onProgress: request.onDataverseProgress });
  };
  const graphOptions = (request: SyncRequest, signal: AbortSignal): GraphPassOptions => ({
    from: request.from,
    to: request.to,
    overlapMs: config.overlapMs,
    firstRunMs: config.graphFirstRunMs,
    concurrency: config.graphQueryConcurrency,
    dailySubmissions: config.graphDailySubmissions,
    onProgress: request.onProgress,
    signal,
    ...deps.graphPolling,
  });

  return {
    config,
    api,
    graph,
    storage,
    store,
    metrics,
    logger,
    now,
    ready,
    sync: (request = {}) =>
      withLease(request, async (signal) => {
        // Storage from before rollups: its days are read from the events until rolled up below.
        if (!(await store.rollups.isBuilt({ abortSignal: signal }))) {
          await markEveryDayDirty(store, signal);
        }
        const results = await runPass(passContext, {
          contentTypes: config.contentTypes,
          from: request.from,
          to: request.to,
          overlapMs: config.overlapMs,
          firstRunMs: config.firstRunMs,
          blobConcurrency: config.blobConcurrency,
          pace,
          onProgress: request.onProgress,
          signal,
        });
        await afterPass(signal, request);
        return results;
      }),
    syncGraph: (request = {}) =>
      withLease(request, async (signal) => {
        const result = await runGraphPass(graphContext, graphOptions(request, signal));
        await afterPass(signal, request);
        return result;
      }),
    fillGaps: (request = {}) =>
      withLease(request, async (signal) => {
        const result = await fillGapsFromGraph(graphContext, graphOptions(request, signal));
        await afterPass(signal, request);
        return result;
      }),
    rebuildRollups: (request = {}) =>
      withLease(request, (signal) => rebuildRollups(store, logger, signal)),
    syncDataverse: dataverse
      ? async (signal) => {
          await ready();
          return dataverse.sink.drain({ signal });
        }
      : undefined,
    dataverse: dataverse && {
      backfill: (request) =>
        withLease(request, (signal) =>
          dataverse.backfill({
            from: request.fromDay,
            signal,
            onProgress: request.onDataverseProgress,
          }),
        ),
      retryRejected: (request) =>
        withLease(request, (signal) =>
          dataverse.retryRejected({ signal, onProgress: request.onDataverseProgress }),
        ),
      rejectedGaps: async () => {
        await ready();
        return dataverse.rejected.gaps();
      },
    },
    async report(window, options = {}) {
      await ready();
      const abortSignal = options.signal;
      const report = await buildUsageReport(store, window, abortSignal);
      if (options.staleDays === undefined) return report;
      const apps = await store.apps.list({ abortSignal });
      const inactiveApps = findInactiveApps(apps, window.to, options.staleDays);
      return { ...report, staleDays: options.staleDays, inactiveApps };
    },
  };
}

/**
 * The API clients, sharing one HTTP client (one rate limit: the tenant's Management API quota)
 * and each with its own token: Graph has its own audience (scope {graphEndpoint}/.default).
 */
function createClients(
  config: RuntimeConfig,
  deps: RuntimeDeps,
  metrics: Metrics,
  logger: Logger,
): { http: HttpClient; api: ActivityApi; graph: GraphAuditApi; graphUsers: GraphUsersApi } {
  const http = new HttpClient({
    agent: deps.agent,
    timeoutMs: config.httpTimeoutMs,
    limiter: new RateLimiter(config.rateLimitPerMinute),
    retry: { maxRetries: config.maxRetries, ...deps.retry },
    metrics,
    logger,
    sleep: deps.sleep,
  });
  const api = new ActivityApi({
    audience: config.audience,
    tenantId: config.tenantId,
    publisherId: config.publisherId,
    http,
    tokens: createTokenProvider(config, http),
  });
  const graphAccess = {
    endpoint: config.graphEndpoint,
    http,
    tokens: createTokenProvider({ ...config, audience: config.graphEndpoint }, http),
  };
  const graph = new GraphAuditApi(graphAccess);
  // The same Graph token (one app role assignment per permission, all in the Graph token).
  const graphUsers = new GraphUsersApi(graphAccess);
  return { http, api, graph, graphUsers };
}

/** Every store of the account, as storage/ implements them; a pass sees them as its SyncStore. */
export interface Stores {
  checkpoints: Checkpoints;
  contentIds: ContentIds;
  gaps: Gaps;
  archive: RawArchive;
  quarantine: Quarantine;
  launches: EventsTable;
  deletes: EventsTable;
  apps: AppsTable;
  rollups: RollupsTable;
  reports: ReportFiles;
  /** Set by the Dataverse wiring when the sink is on. */
  dataverseOutbox?: DataverseOutbox;
}

function openStores(storage: Storage): Stores {
  return {
    checkpoints: new Checkpoints(storage.table(TABLES.checkpoints)),
    contentIds: new ContentIds(storage.table(TABLES.contentIds)),
    gaps: new Gaps(storage.table(TABLES.gaps)),
    archive: new RawArchive(storage.raw),
    quarantine: new Quarantine(storage.quarantine),
    launches: new EventsTable(storage.table(TABLES.launches), "launch"),
    deletes: new EventsTable(storage.table(TABLES.deletes), "delete"),
    apps: new AppsTable(storage.table(TABLES.apps)),
    rollups: new RollupsTable(storage.table(TABLES.rollups)),
    reports: new ReportFiles(storage.reports),
  };
}

/** Creates the tables and containers once; a failure is not kept, so the next call tries again. */
function ensureOnce(storage: Storage): () => Promise<void> {
  let ensured: Promise<void> | undefined;
  return () => {
    ensured ??= storage.ensure().catch((err: unknown) => {
      ensured = undefined;
      throw err;
    });
    return ensured;
  };
}

/**
 * Runs a pass holding the one-writer lease, under one signal that stops it before its next write
 * when either the caller stops it (SIGTERM) or the lease is lost; `beforePass` runs first, inside
 * the lease; the lease is released after.
 */
function leaseRunner(
  passLease: PassLease,
  { ready, metrics, logger }: { ready: () => Promise<void>; metrics: Metrics; logger: Logger },
  beforePass: () => Promise<void> | undefined,
) {
  const take = async (request: SyncRequest): Promise<HeldLease> => {
    const abortSignal = request.signal;
    if (request.whenLeaseHeld !== "skip") {
      return passLease.acquire({
        abortSignal,
        onWait: () =>
          logger.info("another runtime holds the sync lease; waiting for its pass to end", {
            leaseBlob: LEASE_BLOB,
          }),
      });
    }
    const held = await passLease.tryAcquire({ abortSignal });
    if (held) return held;
    metrics.inc("audit_passes_skipped_total");
    throw new LeaseHeldError();
  };
  return async <T>(request: SyncRequest, pass: (signal: AbortSignal) => Promise<T>): Promise<T> => {
    await ready();
    const lease = await take(request);
    const signal = request.signal ? AbortSignal.any([request.signal, lease.signal]) : lease.signal;
    // Every request in flight adds an abort listener to this signal, removed when it ends (the
    // Azure SDK's HTTP client, ours). A pass keeps many in flight (AUDIT_BLOB_CONCURRENCY blobs,
    // each with its apps' table writes), so their number is bounded by the pass's concurrency,
    // not by Node's default of 10, past which it warns of a leak on every pass.
    setMaxListeners(0, signal);
    try {
      await beforePass();
      return await pass(signal);
    } catch (err) {
      // A stop that lands inside a storage call surfaces as the Azure SDK's own AbortError; the
      // caller is owed the reason it stopped for (its own, or the lost lease).
      if (signal.aborted) throw signal.reason;
      throw err;
    } finally {
      await lease.release();
    }
  };
}
