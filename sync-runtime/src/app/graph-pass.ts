import { LOG_EVENTS } from "../../contract";
import type { AuditLogQuery, GraphAuditApi } from "../clients/graph-audit";
import { ApiError, ThrottledError } from "../core/errors";
import { sleep as realSleep } from "../core/sleep";
import { auditDataOf, halve } from "../domain/graph-records";
import type { ProgressSnapshot } from "../domain/progress-snapshot";
import { addStats, emptyStats, RecordCollector, tallyBlob, type BlobStats } from "../domain/tally";
import { planPass, type Interval } from "../domain/windows";
import { storeEvents } from "./content-blob";
import type { SyncContext } from "./pass";

/** What the Graph source asks for: the two operations the usage report is made of. */
export const GRAPH_OPERATIONS = ["LaunchPowerApp", "DeletePowerApp"] as const;

/**
 * The Graph source's checkpoint, gaps and metrics label. Its own key, apart from the Management
 * API's content types: the two sources move at different paces and a gap fill from Graph must
 * never move the Management API's checkpoint (or the other way round).
 */
export const GRAPH_SOURCE_KEY = "graph";

/** Audit Standard keeps records 180 days (learn.microsoft.com/purview/audit-log-retention-policies). */
export const GRAPH_RETENTION_MS = 180 * 24 * 3_600_000;

/**
 * A query sees the records indexed when it runs, and a record can reach the audit log hours
 * after its event (typically 60-90 minutes, sometimes much later). Unlike a content listing,
 * which lists a late record in a later blob, a query over a past window never returns it again,
 * so each pass re-queries at least this far behind its checkpoint (the emulator's late records
 * arrive up to 12 hours late). An hourly pass still needs one query; records seen again are
 * upserts on their Id.
 */
export const GRAPH_MIN_OVERLAP_MS = 12 * 3_600_000;

/** A window whose query hit the record limit is halved down to this; below it the pass fails. */
const MIN_SPLIT_MS = 60_000;

export interface GraphContext extends Omit<SyncContext, "api"> {
  graph: GraphAuditApi;
}

export interface GraphPassOptions {
  from?: Date;
  to?: Date;
  overlapMs: number;
  firstRunMs: number;
  /** Real time between polls of a running query. Default 15 s. */
  pollIntervalMs?: number;
  /** A query not finished after this much real time fails the pass. Default 30 min. */
  maxQueryWaitMs?: number;
  /** Submissions of one window whose query ends failed or cancelled, before the pass fails. Default 3. */
  maxQueryAttempts?: number;
  /** Whether finishing windows moves the Graph checkpoint (a gap fill does not). Default true. */
  checkpoint?: boolean;
  onProgress?: (snapshot: ProgressSnapshot) => void;
  signal?: AbortSignal;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface GraphPassResult extends BlobStats {
  source: "graph";
  from: string;
  to: string;
  windows: number;
  /** Queries that succeeded and whose records were read. */
  queries: number;
  /** Windows halved because their query reported isRecordCountLimitExceeded. */
  splits: number;
  /** Record pages read. */
  pages: number;
  gap?: { from: string; to: string };
  checkpoint?: string;
}

/**
 * One pass over Microsoft Graph's audit log query API: plan windows from the Graph checkpoint
 * (up to 180 days back), then for each window submit a query for LaunchPowerApp/DeletePowerApp,
 * wait for it, and store its records page by page through the same tally, archive, tables and
 * de-duplication as a Management API blob. The checkpoint moves window by window once every page
 * is stored; a pass killed half-way re-queries at most the unfinished window (writes are upserts
 * keyed by the record Id, so nothing doubles).
 */
export async function runGraphPass(
  ctx: GraphContext,
  options: GraphPassOptions,
): Promise<GraphPassResult> {
  const now = ctx.now();
  const moves = options.checkpoint !== false;
  const plan = planPass({
    now,
    checkpoint: moves ? await ctx.store.checkpoints.get(GRAPH_SOURCE_KEY) : undefined,
    requestedFrom: options.from,
    requestedTo: options.to,
    overlapMs: Math.max(options.overlapMs, GRAPH_MIN_OVERLAP_MS),
    firstRunMs: options.firstRunMs,
    retentionMs: GRAPH_RETENTION_MS,
  });
  const result: GraphPassResult = {
    source: "graph",
    from: plan.from.toISOString(),
    to: plan.to.toISOString(),
    windows: plan.windows.length,
    queries: 0,
    splits: 0,
    pages: 0,
    ...emptyStats(),
  };
  if (plan.gap) result.gap = await recordGap(ctx, plan.gap, now);
  if (plan.clampedFrom) {
    ctx.logger.warn(
      "--from is older than the audit retention (180 days); starting at the oldest allowed time",
      { requestedFrom: plan.clampedFrom.toISOString(), from: plan.from.toISOString() },
    );
  }
  const progress: ProgressSnapshot = {
    contentType: GRAPH_SOURCE_KEY,
    windowsDone: 0,
    windowsTotal: plan.windows.length,
    blobsDone: 0,
    blobsKnown: 0,
    recordsDone: 0,
    startedAt: new Date(),
  };
  options.onProgress?.({ ...progress });
  for (const window of plan.windows) {
    options.signal?.throwIfAborted();
    await syncWindow(ctx, options, window, result, progress);
    if (moves && plan.advancesCheckpoint) {
      options.signal?.throwIfAborted();
      const advanced = await ctx.store.checkpoints.advance(GRAPH_SOURCE_KEY, window.to, ctx.now());
      result.checkpoint = advanced.toISOString();
    }
    progress.windowsDone++;
    options.onProgress?.({ ...progress });
    ctx.logger.info("window synced", {
      source: GRAPH_SOURCE_KEY,
      from: window.from.toISOString(),
      to: window.to.toISOString(),
      checkpoint: result.checkpoint,
    });
  }
  return result;
}

/** One window: its query, halved while the query says it hit the record limit, then its records. */
async function syncWindow(
  ctx: GraphContext,
  options: GraphPassOptions,
  window: Interval,
  result: GraphPassResult,
  progress: ProgressSnapshot,
): Promise<void> {
  const query = await runQuery(ctx, options, window);
  if (query.isRecordCountLimitExceeded === true) {
    const halves = halve(window, MIN_SPLIT_MS);
    if (!halves) {
      throw new ApiError({
        status: 200,
        url: "audit log query",
        message: `The Graph audit log query for ${window.from.toISOString()}..${window.to.toISOString()} exceeds its record limit (${query.recordCountLimit ?? "unknown"}) even over ${Math.round(MIN_SPLIT_MS / 1000)} s; it cannot be split further. Use AUDIT_SOURCE=managementApi for this interval.`,
      });
    }
    result.splits++;
    ctx.metrics.inc("audit_graph_query_splits_total");
    ctx.logger.info("audit log query hit its record limit; splitting the window", {
      from: window.from.toISOString(),
      to: window.to.toISOString(),
      approximateReturnedRecordCount: query.approximateReturnedRecordCount,
      recordCountLimit: query.recordCountLimit,
    });
    for (const half of halves) await syncWindow(ctx, options, half, result, progress);
    return;
  }
  result.queries++;
  let page = 0;
  for await (const records of ctx.graph.listRecords(query.id, { signal: options.signal })) {
    await storePage(ctx, window, page++, records, result, options.signal);
    progress.blobsDone = progress.blobsKnown = result.pages;
    progress.recordsDone = result.records;
    options.onProgress?.({ ...progress });
  }
}

/**
 * Submits the window's query and polls it to a final status. A failed or cancelled query is
 * submitted again (bounded); the tenant's query limits answer 429 with Retry-After, which the
 * HTTP client waits out (capped) before the pass gives up with an explanation.
 */
async function runQuery(
  ctx: GraphContext,
  options: GraphPassOptions,
  window: Interval,
): Promise<AuditLogQuery> {
  const attempts = options.maxQueryAttempts ?? 3;
  const pollMs = options.pollIntervalMs ?? 15_000;
  const maxWaitMs = options.maxQueryWaitMs ?? 30 * 60_000;
  const wait = options.sleep ?? realSleep;
  const signal = options.signal;
  let last: AuditLogQuery | undefined;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    let query = await submit(ctx, window, signal);
    const started = Date.now();
    while (!["succeeded", "failed", "cancelled"].includes(query.status)) {
      if (Date.now() - started > maxWaitMs) {
        throw new ApiError({
          status: 200,
          url: "audit log query",
          message: `The Graph audit log query ${query.id} for ${window.from.toISOString()}..${window.to.toISOString()} was still '${query.status}' after ${Math.round(maxWaitMs / 60_000)} min; the pass stops without advancing the checkpoint and the next pass submits it again.`,
        });
      }
      await wait(pollMs, signal);
      query = await ctx.graph.getQuery(query.id, { signal });
    }
    ctx.metrics.inc("audit_graph_queries_total", { status: query.status });
    if (query.status === "succeeded") return query;
    last = query;
    ctx.logger.warn("audit log query ended without records; submitting it again", {
      queryId: query.id,
      status: query.status,
      attempt,
      from: window.from.toISOString(),
      to: window.to.toISOString(),
    });
  }
  throw new ApiError({
    status: 200,
    url: "audit log query",
    message: `The Graph audit log query for ${window.from.toISOString()}..${window.to.toISOString()} ended '${last?.status}' ${attempts} times; the pass stops without advancing the checkpoint. Check Microsoft Purview's audit (Audit > Search) for the tenant; the next pass tries again.`,
  });
}

async function submit(
  ctx: GraphContext,
  window: Interval,
  signal?: AbortSignal,
): Promise<AuditLogQuery> {
  try {
    return await ctx.graph.createQuery(window, GRAPH_OPERATIONS, { signal });
  } catch (err) {
    if (!(err instanceof ThrottledError)) throw err;
    // Still throttled after the retries: the tenant's submissions per 24 hours or its queued
    // queries are used up (by this runtime or another app). Stop cleanly; the checkpoint stays.
    throw new ApiError(
      {
        status: err.status,
        url: err.url,
        message: `Microsoft Graph keeps refusing new audit log queries (HTTP 429${err.retryAfterMs !== undefined ? `, Retry-After ${Math.round(err.retryAfterMs / 1000)} s` : ""}): the tenant's limits on query submissions per 24 hours or on queued and running queries are reached (learn.microsoft.com/graph/throttling-limits#security-audit-log-query-service-limits). The pass stops before ${window.from.toISOString()} with the checkpoint kept; the next pass resumes there.`,
      },
      { cause: err },
    );
  }
}

/**
 * One page of records, handled like a content blob: archived as gzip NDJSON (the Graph records as
 * served), then the events of their auditData through the same tally and tables.
 */
async function storePage(
  ctx: GraphContext,
  window: Interval,
  page: number,
  records: unknown[],
  result: GraphPassResult,
  signal?: AbortSignal,
): Promise<void> {
  const collected = new RecordCollector();
  for (const record of records) collected.add(auditDataOf(record));
  const tally = tallyBlob(collected, ctx.writtenIds);
  const { store } = ctx;
  signal?.throwIfAborted();
  // A page is bounded by Graph's page size: one write of its NDJSON lines, then the commit.
  const upload = store.archive.begin(graphArchiveName(window, page));
  try {
    await upload.add(records.map((r) => `${JSON.stringify(r)}\n`).join(""));
    await upload.finish();
  } catch (err) {
    upload.discard();
    throw err;
  }
  signal?.throwIfAborted();
  await storeEvents(store, tally);
  for (const key of tally.newKeys) ctx.writtenIds.add(key);
  result.pages++;
  addStats(result, tally.stats);
  const labels = { content_type: GRAPH_SOURCE_KEY };
  ctx.metrics.inc("audit_records_processed_total", labels, tally.stats.records);
  ctx.metrics.inc("audit_launches_total", labels, tally.stats.launches);
  ctx.metrics.inc("audit_deletes_total", labels, tally.stats.deletes);
  ctx.metrics.inc("audit_duplicate_records_total", labels, tally.stats.duplicates);
  ctx.metrics.inc("audit_unparsed_records_total", labels, tally.stats.unparsed);
  if (tally.stats.unparsed > 0) {
    ctx.logger.warn("records without a recognisable app id were archived but not counted", {
      source: GRAPH_SOURCE_KEY,
      page,
      unparsed: tally.stats.unparsed,
      example: collected.firstUnparsed,
    });
  }
}

/** graph/{day}/{from}_{to}/{page}.ndjson.gz: a re-run of the window overwrites the same blobs. */
export function graphArchiveName(window: Interval, page: number): string {
  const stamp = (d: Date) => d.toISOString().replace(/[:.]/g, "");
  const day = window.from.toISOString().slice(0, 10);
  return `${GRAPH_SOURCE_KEY}/${day}/${stamp(window.from)}_${stamp(window.to)}/${String(page).padStart(5, "0")}.ndjson.gz`;
}

/** A Graph checkpoint older than 180 days: the interval is lost to Graph too; say so everywhere. */
async function recordGap(
  ctx: GraphContext,
  gap: Interval,
  now: Date,
): Promise<{ from: string; to: string }> {
  const labels = { content_type: GRAPH_SOURCE_KEY };
  await ctx.store.gaps.record(GRAPH_SOURCE_KEY, gap, now);
  const seconds = Math.round((gap.to.getTime() - gap.from.getTime()) / 1000);
  ctx.metrics.inc("audit_gaps_total", labels);
  ctx.metrics.inc("audit_gap_seconds_total", labels, seconds);
  const shown = { from: gap.from.toISOString(), to: gap.to.toISOString() };
  ctx.logger.error("unrecoverable gap: the Graph checkpoint is older than the audit retention", {
    event: LOG_EVENTS.gapRecorded,
    source: GRAPH_SOURCE_KEY,
    gapFrom: shown.from,
    gapTo: shown.to,
    seconds,
    todo: "records created in this interval are past the tenant's audit retention; it is recorded in the gaps table",
  });
  return shown;
}
