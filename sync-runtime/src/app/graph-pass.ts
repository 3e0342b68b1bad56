import { LOG_EVENTS } from "../../contract";
import type { AuditLogQuery, GraphAuditApi } from "../clients/graph-audit";
import { ApiError, ThrottledError } from "../core/errors";
import { sleep as realSleep } from "../core/sleep";
import { QueryConcurrency } from "../domain/concurrency";
import {
  auditDataOf,
  dayWindows,
  halve,
  pollDelayMs,
  sawEveryRecord,
} from "../domain/graph-records";
import type { ProgressSnapshot } from "../domain/progress-snapshot";
import { SUBMISSION_WINDOW_MS, SubmissionBudget } from "../domain/submission-budget";
import { addStats, emptyStats, RecordCollector, tallyBlob, type BlobStats } from "../domain/tally";
import { planPass, type Interval } from "../domain/windows";
import type { DayMark, GraphQueryLog } from "../storage/graph-queries";
import { storeEvents } from "./content-blob";
import type { SyncContext } from "./pass";
import { TaskPool } from "./pool";

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

/** Queries queued or running at once unless configured (AUDIT_GRAPH_QUERY_CONCURRENCY). */
export const DEFAULT_QUERY_CONCURRENCY = 10;
/** Submissions per rolling 24 hours unless configured (AUDIT_GRAPH_DAILY_SUBMISSIONS). */
export const DEFAULT_DAILY_SUBMISSIONS = 150;
/** Refused submissions (429) of one query in a row before the pass gives up. */
const MAX_REFUSALS = 10;

export interface GraphContext extends Omit<SyncContext, "api"> {
  graph: GraphAuditApi;
  /** Submissions of the last 24 hours and the day windows' queries, kept in Azure Storage. */
  queries: GraphQueryLog;
}

export interface GraphPassOptions {
  from?: Date;
  to?: Date;
  overlapMs: number;
  firstRunMs: number;
  /** Queries queued or running at once, at most. Default DEFAULT_QUERY_CONCURRENCY. */
  concurrency?: number;
  /** Submissions in any 24 hours, at most. Default DEFAULT_DAILY_SUBMISSIONS. */
  dailySubmissions?: number;
  /** Longest real time between polls of a running query (the first come sooner). Default 15 s. */
  pollIntervalMs?: number;
  /** A query not finished after this much real time fails the pass. Default 60 min. */
  maxQueryWaitMs?: number;
  /** Submissions of one window whose query ends failed or cancelled, before the pass fails. Default 3. */
  maxQueryAttempts?: number;
  /**
   * The longest wait for a submission: a Retry-After of a 429, or the budget's next free
   * submission. Longer (the tenant's or the runtime's submissions per 24 hours are spent) stops
   * the pass with its checkpoint kept. Default 5 min.
   */
  maxSubmitWaitMs?: number;
  /** Whether finishing windows moves the Graph checkpoint (a gap fill does not). Default true. */
  checkpoint?: boolean;
  onProgress?: (snapshot: ProgressSnapshot) => void;
  signal?: AbortSignal;
  /** How the pass waits between polls and before a submission. Default: a real, abortable sleep. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface GraphPassResult extends BlobStats {
  source: "graph";
  from: string;
  to: string;
  windows: number;
  /** Queries that succeeded and whose records were read. */
  queries: number;
  /** Queries submitted (each spends one of the tenant's submissions per 24 hours). */
  submissions: number;
  /** Queries of an earlier, stopped pass that this pass waited for instead of submitting again. */
  reattached: number;
  /** Windows stored by an earlier pass after all their records were available: not queried. */
  skipped: number;
  /** Windows halved because their query reported isRecordCountLimitExceeded. */
  splits: number;
  /** Record pages read. */
  pages: number;
  gap?: { from: string; to: string };
  checkpoint?: string;
}

/**
 * One pass over Microsoft Graph's audit log query API: plan the days from the Graph checkpoint
 * (up to 180 days back), then keep up to `concurrency` of them in flight, each its own query for
 * LaunchPowerApp/DeletePowerApp that is submitted (within the submissions budget), polled, and
 * read page by page into the same tally, archive, tables and de-duplication as a Management API
 * blob as soon as it succeeds. Each stored day is marked in the ledger; the checkpoint advances
 * in day order over stored days. A pass killed half-way re-attaches to the queries it left
 * running and skips the days it stored (writes are upserts keyed by the record Id, so nothing
 * doubles either way).
 */
export async function runGraphPass(
  ctx: GraphContext,
  options: GraphPassOptions,
): Promise<GraphPassResult> {
  const now = ctx.now();
  const moves = options.checkpoint !== false;
  const plan = planPass({
    now,
    checkpoint: moves
      ? await ctx.store.checkpoints.get(GRAPH_SOURCE_KEY, { abortSignal: options.signal })
      : undefined,
    requestedFrom: options.from,
    requestedTo: options.to,
    overlapMs: Math.max(options.overlapMs, GRAPH_MIN_OVERLAP_MS),
    firstRunMs: options.firstRunMs,
    retentionMs: GRAPH_RETENTION_MS,
  });
  const windows = dayWindows(plan.from, plan.to);
  const result: GraphPassResult = {
    source: "graph",
    from: plan.from.toISOString(),
    to: plan.to.toISOString(),
    windows: windows.length,
    queries: 0,
    submissions: 0,
    reattached: 0,
    skipped: 0,
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
  await new GraphPipeline(ctx, options, windows, moves && plan.advancesCheckpoint, result).run();
  return result;
}

/** One planned day while the pass works on it. */
interface DayState {
  window: Interval;
  /** What the ledger held for it when the pass started. */
  mark?: DayMark;
  done: boolean;
}

/** The runtime's submissions budget is spent until `freeAt`: the pass takes no more days. */
class BudgetSpent extends Error {
  constructor(readonly freeAt: Date) {
    super("the submissions budget is spent");
  }
}

class GraphPipeline {
  private readonly states: DayState[];
  private readonly pool: TaskPool;
  private readonly limit: QueryConcurrency;
  private budget: SubmissionBudget | undefined;
  private readonly progress: ProgressSnapshot;
  private readonly days = { queried: 0, running: 0, stored: 0 };
  /** Index of the first day the checkpoint has not passed. */
  private head = 0;
  private committing: Promise<void> = Promise.resolve();
  private commitFailure: { error: unknown } | undefined;
  private readonly wait: (ms: number, signal?: AbortSignal) => Promise<void>;

  constructor(
    private readonly ctx: GraphContext,
    private readonly options: GraphPassOptions,
    windows: Interval[],
    private readonly advances: boolean,
    private readonly result: GraphPassResult,
  ) {
    this.states = windows.map((window) => ({ window, done: false }));
    this.limit = new QueryConcurrency(options.concurrency ?? DEFAULT_QUERY_CONCURRENCY);
    this.pool = new TaskPool(this.limit.target);
    this.wait = options.sleep ?? realSleep;
    this.progress = {
      contentType: GRAPH_SOURCE_KEY,
      windowsDone: 0,
      windowsTotal: windows.length,
      blobsDone: 0,
      blobsKnown: 0,
      recordsDone: 0,
      startedAt: new Date(),
      days: { ...this.days },
    };
  }

  async run(): Promise<void> {
    const { ctx, options, states } = this;
    const { signal } = options;
    this.emit();
    if (states.length === 0) return;
    await this.readLedger();
    for (const state of states) {
      if (this.pool.failed || signal?.aborted) break;
      if (state.done) {
        this.commit();
        continue;
      }
      this.pool.limit = this.limit.target;
      await this.pool.submit(() => this.day(state));
    }
    let poolError: { error: unknown } | undefined;
    await this.pool.drain().catch((error: unknown) => (poolError = { error }));
    await this.committing;
    ctx.metrics.set("audit_graph_queries_in_flight", 0);
    signal?.throwIfAborted();
    if (this.commitFailure) throw this.commitFailure.error;
    if (poolError) throw this.explain(poolError.error);
  }

  /**
   * The ledger's marks of the planned days: a day stored by an earlier pass whose query ran
   * after every record of the day was available is done; a day whose query was submitted but
   * not stored (a killed pass) is re-attached to that query. Then the budget: what the last 24
   * hours spent, older submissions forgotten.
   */
  private async readLedger(): Promise<void> {
    const { ctx, states, options } = this;
    const { signal } = options;
    const first = states[0].window.from;
    const dayStart = new Date(Math.floor(first.getTime() / DAY_MS) * DAY_MS);
    const marks = await ctx.queries.days(dayStart, states[states.length - 1].window.to, {
      abortSignal: signal,
    });
    for (const state of states) {
      const { window } = state;
      const stored = marks.find(
        (m) =>
          m.stored &&
          m.from <= window.from &&
          m.to >= window.to &&
          sawEveryRecord(m, m.submittedAt, GRAPH_MIN_OVERLAP_MS),
      );
      if (stored) {
        state.done = true;
        this.result.skipped++;
        this.days.stored++;
        continue;
      }
      state.mark = marks.find(
        (m) =>
          !m.stored &&
          m.from.getTime() === window.from.getTime() &&
          m.to.getTime() === window.to.getTime(),
      );
    }
    const now = ctx.now();
    const since = new Date(now.getTime() - SUBMISSION_WINDOW_MS);
    await ctx.queries.prune(since, { abortSignal: signal });
    // Days past the retention are never planned again: their marks would only pile up.
    await ctx.queries.pruneDays(new Date(now.getTime() - GRAPH_RETENTION_MS - DAY_MS), {
      abortSignal: signal,
    });
    const spent = await ctx.queries.submissionsSince(since, { abortSignal: signal });
    this.budget = new SubmissionBudget(
      options.dailySubmissions ?? DEFAULT_DAILY_SUBMISSIONS,
      spent.map((d) => d.getTime()),
    );
  }

  /** One day: its query (re-attached or submitted), its records stored, its mark, the checkpoint. */
  private async day(state: DayState): Promise<void> {
    const { ctx, options } = this;
    const { window } = state;
    this.days.running++;
    this.emit();
    try {
      const { query, submittedAt } = await this.succeeded(window, state.mark);
      await this.read(window, query);
      await ctx.queries.stored({ ...window, queryId: query.id, submittedAt }, ctx.now(), {
        abortSignal: options.signal,
      });
      state.done = true;
      this.days.stored++;
      this.pool.limit = this.limit.succeeded();
    } finally {
      this.days.running--;
      this.emit();
    }
    this.commit();
  }

  /**
   * The window's query, succeeded: the one a stopped pass left running when it still can be
   * read, otherwise a new submission; a query that ends failed or cancelled is submitted again
   * (bounded). Only a whole day's query is marked in the ledger, not the halves of a split one.
   */
  private async succeeded(
    window: Interval,
    mark?: DayMark,
  ): Promise<{ query: AuditLogQuery; submittedAt: Date }> {
    const { ctx, options } = this;
    const attempts = options.maxQueryAttempts ?? 3;
    let attached = mark ? await this.reattach(mark) : undefined;
    let last: AuditLogQuery | undefined;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      let submitted = attached;
      attached = undefined;
      if (!submitted) {
        submitted = await this.submit(window);
        if (this.isDay(window)) {
          await ctx.queries.submitted(
            { ...window, queryId: submitted.query.id, submittedAt: submitted.submittedAt },
            ctx.now(),
            { abortSignal: options.signal },
          );
        }
      }
      // A day counts as queried once, whatever its resubmissions and split halves.
      if (attempt === 1 && this.isDay(window)) {
        this.days.queried++;
        this.emit();
      }
      const query = await this.poll(submitted.query, window);
      ctx.metrics.inc("audit_graph_queries_total", { status: query.status });
      if (query.status === "succeeded") return { query, submittedAt: submitted.submittedAt };
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
      message: `The Graph audit log query for ${window.from.toISOString()}..${window.to.toISOString()} ended '${last?.status}' ${attempts} times; the pass stops without advancing the checkpoint past it. Check Microsoft Purview's audit (Audit > Search) for the tenant; the next pass tries again.`,
    });
  }

  /** Whether the window is one of the planned days (the halves of a split one are not). */
  private isDay(window: Interval): boolean {
    return this.states.some(
      (s) =>
        s.window.from.getTime() === window.from.getTime() &&
        s.window.to.getTime() === window.to.getTime(),
    );
  }

  /**
   * The query a stopped pass submitted for this day, if Graph still has it and it has not
   * failed: waiting for it costs no submission. Graph keeps queries for a while only; one it no
   * longer knows (404) is submitted again.
   */
  private async reattach(
    mark: DayMark,
  ): Promise<{ query: AuditLogQuery; submittedAt: Date } | undefined> {
    const { ctx, options } = this;
    let query: AuditLogQuery;
    try {
      query = await ctx.graph.getQuery(mark.queryId, { signal: options.signal });
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return undefined;
      throw err;
    }
    if (query.status === "failed" || query.status === "cancelled") return undefined;
    this.result.reattached++;
    ctx.logger.info("re-attached to the audit log query of a stopped pass", {
      queryId: query.id,
      status: query.status,
      from: mark.from.toISOString(),
      to: mark.to.toISOString(),
    });
    return { query, submittedAt: mark.submittedAt };
  }

  /**
   * Submits the window's query: one submission taken from the budget first (and written down,
   * so a restart counts it even if the process dies before Graph answers), then the POST. A 429
   * halves the queries in flight and is waited out when its Retry-After is short; a refusal gives
   * its submission back, since Graph did not take the query.
   */
  private async submit(window: Interval): Promise<{ query: AuditLogQuery; submittedAt: Date }> {
    const { ctx, options } = this;
    const { signal } = options;
    const maxWaitMs = options.maxSubmitWaitMs ?? 5 * 60_000;
    for (let refused = 0; ; refused++) {
      const { key, at } = await this.reserve(window, maxWaitMs);
      try {
        const query = await ctx.graph.createQuery(window, GRAPH_OPERATIONS, { signal });
        this.result.submissions++;
        ctx.metrics.inc("audit_graph_submissions_total");
        return { query, submittedAt: at };
      } catch (err) {
        if (err instanceof ApiError && err.status >= 400 && err.status < 500) {
          this.budget!.give(at.getTime());
          await ctx.queries.release(key, { abortSignal: signal });
        }
        if (!(err instanceof ThrottledError)) throw err;
        ctx.metrics.inc("audit_graph_submissions_refused_total");
        this.pool.limit = this.limit.throttled();
        const retryAfterMs = err.retryAfterMs ?? 60_000;
        ctx.logger.warn("Graph refused an audit log query (429); fewer queries in flight", {
          from: window.from.toISOString(),
          retryAfterMs,
          queriesInFlight: this.pool.limit,
        });
        if (retryAfterMs > maxWaitMs || refused + 1 >= MAX_REFUSALS)
          throw refusedError(err, window);
        await this.wait(retryAfterMs, signal);
      }
    }
  }

  /** One submission from the budget, waiting for one to free up when that is soon. */
  private async reserve(window: Interval, maxWaitMs: number): Promise<{ key: string; at: Date }> {
    const { ctx, options } = this;
    for (;;) {
      const at = ctx.now();
      const waitMs = this.budget!.take(at.getTime());
      if (waitMs === 0) {
        try {
          return {
            key: await ctx.queries.reserve(at, window, { abortSignal: options.signal }),
            at,
          };
        } catch (err) {
          this.budget!.give(at.getTime());
          throw err;
        }
      }
      if (waitMs > maxWaitMs) throw new BudgetSpent(new Date(at.getTime() + waitMs));
      await this.wait(waitMs, options.signal);
    }
  }

  /** Polls a query to a final status: soon at first, then every pollIntervalMs. */
  private async poll(query: AuditLogQuery, window: Interval): Promise<AuditLogQuery> {
    const { ctx, options } = this;
    const pollMs = options.pollIntervalMs ?? 15_000;
    const maxWaitMs = options.maxQueryWaitMs ?? 60 * 60_000;
    const started = Date.now();
    for (let n = 0; !FINAL.includes(query.status); n++) {
      if (Date.now() - started > maxWaitMs) {
        throw new ApiError({
          status: 200,
          url: "audit log query",
          message: `The Graph audit log query ${query.id} for ${window.from.toISOString()}..${window.to.toISOString()} was still '${query.status}' after ${Math.round(maxWaitMs / 60_000)} min; the pass stops without advancing the checkpoint past it, and the next pass waits for it again.`,
        });
      }
      await this.wait(pollDelayMs(n, pollMs), options.signal);
      query = await ctx.graph.getQuery(query.id, { signal: options.signal });
    }
    return query;
  }

  /** A succeeded query's records, page by page; halved while it says it hit the record limit. */
  private async read(window: Interval, query: AuditLogQuery): Promise<void> {
    const { ctx, options, result } = this;
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
      for (const half of halves) await this.read(half, (await this.succeeded(half)).query);
      return;
    }
    result.queries++;
    let page = 0;
    for await (const records of ctx.graph.listRecords(query.id, { signal: options.signal })) {
      await storePage(ctx, window, page++, records, result, options.signal);
      this.progress.blobsDone = this.progress.blobsKnown = result.pages;
      this.progress.recordsDone = result.records;
      this.emit();
    }
  }

  /**
   * Advances the checkpoint over the done days at the head, in order, one write after another.
   * Nothing is written once the pass is stopped by its signal or a checkpoint write failed; days
   * done before another day failed still advance it.
   */
  private commit(): void {
    this.committing = this.committing
      .then(() => this.advance())
      .catch((error: unknown) => {
        this.commitFailure ??= { error };
      });
  }

  private async advance(): Promise<void> {
    const { ctx, options, result } = this;
    let end = this.head;
    while (end < this.states.length && this.states[end].done) end++;
    if (end === this.head || options.signal?.aborted || this.commitFailure) return;
    // One write for every day done at the head: days often finish a few at a time.
    if (this.advances) {
      const to = this.states[end - 1].window.to;
      const advanced = await ctx.store.checkpoints.advance(GRAPH_SOURCE_KEY, to, ctx.now(), {
        abortSignal: options.signal,
      });
      result.checkpoint = advanced.toISOString();
    }
    for (; this.head < end; this.head++) {
      const { window } = this.states[this.head];
      ctx.logger.info("window synced", {
        source: GRAPH_SOURCE_KEY,
        from: window.from.toISOString(),
        to: window.to.toISOString(),
        checkpoint: result.checkpoint,
      });
    }
    this.progress.windowsDone = this.head;
    this.emit();
  }

  private emit(): void {
    this.ctx.metrics.set("audit_graph_queries_in_flight", this.days.running);
    this.progress.days = { ...this.days };
    this.options.onProgress?.({ ...this.progress, days: { ...this.days } });
  }

  /** The budget's stop, in the operator's words: what is spent, where the pass stopped, when it goes on. */
  private explain(error: unknown): unknown {
    if (!(error instanceof BudgetSpent)) return error;
    const next = this.states[this.head]?.window.from;
    const limit = this.budget?.limit ?? DEFAULT_DAILY_SUBMISSIONS;
    return new ApiError({
      status: 429,
      url: "audit log query",
      message: `The runtime's share of Microsoft Graph audit log query submissions per 24 hours is spent (AUDIT_GRAPH_DAILY_SUBMISSIONS=${limit}, counted in Azure Storage). The pass stopped before ${next?.toISOString() ?? "its end"} with the checkpoint kept; submissions free up again from ${error.freeAt.toISOString()}, and the next pass after that goes on from there. A tenant whose allocation is larger than the baseline 200 may raise AUDIT_GRAPH_DAILY_SUBMISSIONS.`,
    });
  }
}

const FINAL: readonly string[] = ["succeeded", "failed", "cancelled"];
const DAY_MS = 24 * 3_600_000;

/** Graph still refuses new queries after the retries: the tenant's limits are reached. */
function refusedError(err: ThrottledError, window: Interval): ApiError {
  // The tenant's submissions per 24 hours or its queued queries are used up (by this runtime or
  // another app). Stop cleanly; the checkpoint stays.
  return new ApiError(
    {
      status: err.status,
      url: err.url,
      message: `Microsoft Graph keeps refusing new audit log queries (HTTP 429${err.retryAfterMs !== undefined ? `, Retry-After ${Math.round(err.retryAfterMs / 1000)} s` : ""}): the tenant's limits on query submissions per 24 hours or on queued and running queries are reached (learn.microsoft.com/graph/throttling-limits#security-audit-log-query-service-limits). The pass stops before ${window.from.toISOString()} with the checkpoint kept; the next pass resumes there.`,
    },
    { cause: err },
  );
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
  // A page is bounded by Graph's page size: one write of its NDJSON lines, then the commit.
  const upload = store.archive.begin(graphArchiveName(window, page), { abortSignal: signal });
  try {
    await upload.add(records.map((r) => `${JSON.stringify(r)}\n`).join(""));
    await upload.finish();
  } catch (err) {
    upload.discard();
    throw err;
  }
  await storeEvents(store, tally, { abortSignal: signal });
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
