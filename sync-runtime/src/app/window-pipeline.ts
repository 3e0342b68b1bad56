import { ListingCutError } from "../core/errors";
import { ConcurrencyController } from "../domain/concurrency";
import type { ContentItem } from "../domain/content";
import type { ProgressSnapshot } from "../domain/progress-snapshot";
import { addStats, type BlobStats } from "../domain/tally";
import type { Interval } from "../domain/windows";
import { processBlob, type BlobOutcome, type SyncContext } from "./content-blob";
import { BoundedQueue } from "./bounded-queue";
import { TaskPool } from "./pool";

/**
 * Windows listed beyond the first unfinished one. Listing ahead keeps blobs flowing across a
 * window's end; the bound keeps what a killed pass redoes (every window not committed) small.
 */
export const LOOKAHEAD_WINDOWS = 2;
/** Listed blobs waiting for a slot: enough to cover a listing page's latency, a bound on memory. */
export const QUEUED_BLOBS = 1000;

/** What the pool's size is decided from: the rate limiter's rate and how long takers wait. */
export interface RatePace {
  readonly ratePerMinute: number;
  /** Tokens handed out so far. */
  readonly taken: number;
  /** Ms the takers of those tokens waited in all. */
  readonly waitedMs: number;
}

export interface WindowsOptions {
  /** The most blobs in flight; the pool's size when there is no `pace` to adapt to. */
  blobConcurrency: number;
  /** The API client's rate limiter: with it, the pool's size adapts to latency and rate. */
  pace?: RatePace;
  /** Whether finishing a window advances the checkpoint. */
  advancesCheckpoint: boolean;
  signal?: AbortSignal;
}

/** What one content type's pass counts; filled in as blobs and windows finish. */
export interface WindowCounts extends BlobStats {
  checkpoint?: string;
  blobsListed: number;
  blobsProcessed: number;
  blobsSkipped: number;
  blobsExpired: number;
  /** Blobs whose contentUri was off the API's origin: never fetched, recorded as lost. */
  blobsRefused: number;
  /** Blobs the API served unreadable: kept in the quarantine container, recorded as lost. */
  blobsQuarantined: number;
  /** Windows whose listing ended at a NextPageUri that could not be followed (see gaps). */
  listingsCut: number;
}

/** Tracks one content type's progress and emits copies of it (the renderer keeps its own). */
export class Progress {
  readonly snapshot: ProgressSnapshot;
  constructor(
    contentType: string,
    windowsTotal: number,
    private readonly onProgress?: (snapshot: ProgressSnapshot) => void,
  ) {
    this.snapshot = {
      contentType,
      windowsDone: 0,
      windowsTotal,
      blobsDone: 0,
      blobsKnown: 0,
      recordsDone: 0,
      startedAt: new Date(),
    };
  }

  emit(): void {
    this.onProgress?.({ ...this.snapshot });
  }
}

/** One planned window while the pass works on it. */
interface WindowState {
  window: Interval;
  /** Content ids listed in this window: one listed twice (across pages) is processed once. */
  ids: Set<string>;
  /** The listing reached its end, or was cut (`cut`). */
  listed: boolean;
  cut?: ListingCutError;
  /** Listed blobs not stored yet: queued or in flight. */
  outstanding: number;
}

/**
 * Syncs a content type's planned windows as one pipeline: a lister lists the windows in order
 * (at most LOOKAHEAD_WINDOWS ahead of the first unfinished one) into a bounded queue, and one
 * pool shared across windows stores the blobs, as many at once as the concurrency controller
 * says. The checkpoint advances in window order, only over windows whose listing is done and
 * whose every blob is stored, so a pass stopped at any point (killed, aborted, a blob failing)
 * leaves it before the first unfinished window; all writes are idempotent.
 */
export async function syncWindows(
  ctx: SyncContext,
  contentType: string,
  windows: Interval[],
  options: WindowsOptions,
  counts: WindowCounts,
  progress: Progress,
): Promise<void> {
  await new WindowPipeline(ctx, contentType, windows, options, counts, progress).run();
}

class WindowPipeline {
  private readonly states: WindowState[];
  /** Index of the first window whose checkpoint is not written yet. */
  private head = 0;
  private readonly queue = new BoundedQueue<{ item: ContentItem; state: WindowState }>(
    QUEUED_BLOBS,
  );
  private readonly pool: TaskPool;
  private readonly controller: ConcurrencyController | undefined;
  /** A listing or checkpoint failure (a blob's failure is the pool's). */
  private failure: { error: unknown } | undefined;
  private commitFailed = false;
  private committing: Promise<void> = Promise.resolve();
  private waiters: Array<() => void> = [];
  private seen = { taken: 0, waitedMs: 0, throttled: 0 };

  constructor(
    private readonly ctx: SyncContext,
    private readonly contentType: string,
    windows: Interval[],
    private readonly options: WindowsOptions,
    private readonly counts: WindowCounts,
    private readonly progress: Progress,
  ) {
    this.states = windows.map((window) => ({
      window,
      ids: new Set(),
      listed: false,
      outstanding: 0,
    }));
    const { pace } = options;
    this.controller = pace
      ? new ConcurrencyController({
          max: options.blobConcurrency,
          ratePerSecond: pace.ratePerMinute / 60,
        })
      : undefined;
    this.pool = new TaskPool(this.controller?.target ?? options.blobConcurrency, () => this.wake());
    if (pace) this.seen = { ...this.seen, taken: pace.taken, waitedMs: pace.waitedMs };
    this.seen.throttled = ctx.metrics.get("audit_throttled_total");
  }

  /** A blob failed, a listing or checkpoint write failed, or the pass is being stopped. */
  private stopped(): boolean {
    return this.pool.failed || this.failure !== undefined || this.options.signal?.aborted === true;
  }

  async run(): Promise<void> {
    const { signal } = this.options;
    const onAbort = () => this.wake();
    signal?.addEventListener("abort", onAbort, { once: true });
    let poolError: { error: unknown } | undefined;
    try {
      await Promise.all([this.listAll(), this.dispatch()]);
      // Every task submitted has ended after the drain: nothing writes once the pass returns.
      await this.pool.drain().catch((error: unknown) => (poolError = { error }));
      await this.committing;
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
    signal?.throwIfAborted();
    if (this.failure) throw this.failure.error;
    if (poolError) throw poolError.error;
    if (this.head < this.states.length)
      throw new Error(`pass ended with ${this.states.length - this.head} windows unfinished`);
  }

  /** The producer: every window's pages in order, each new content id queued once. */
  private async listAll(): Promise<void> {
    try {
      for (let i = 0; i < this.states.length; i++) {
        await this.until(() => i <= this.head + LOOKAHEAD_WINDOWS || this.stopped());
        if (this.stopped()) return;
        if (!(await this.list(this.states[i]))) return;
        this.commit();
      }
    } catch (error) {
      this.fail(error);
    } finally {
      this.queue.close();
    }
  }

  /** Lists one window to its end (true) or until the pass stops (false). */
  private async list(state: WindowState): Promise<boolean> {
    const { counts, progress } = this;
    const pages = this.ctx.api.listContent(this.contentType, state.window.from, state.window.to, {
      signal: this.options.signal,
    });
    try {
      for await (const page of pages) {
        for (const item of page) {
          if (state.ids.has(item.contentId)) continue;
          state.ids.add(item.contentId);
          counts.blobsListed++;
          progress.snapshot.blobsKnown++;
          if (this.stopped()) return false;
          state.outstanding++;
          if (!(await this.queue.put({ item, state }))) return false;
        }
        progress.emit();
        if (this.stopped()) return false;
      }
    } catch (err) {
      if (!(err instanceof ListingCutError)) throw err;
      state.cut = err;
    }
    state.listed = true;
    return true;
  }

  /** The consumer: queued blobs into the pool, as fast as it has slots. */
  private async dispatch(): Promise<void> {
    try {
      for (;;) {
        const next = await this.queue.take();
        if (next === undefined || this.stopped()) return;
        await this.pool.submit(() => this.store(next.item, next.state));
      }
    } finally {
      this.queue.close();
    }
  }

  /** One blob, counted; its window is one blob closer to done only if it was stored. */
  private async store(item: ContentItem, state: WindowState): Promise<void> {
    const started = performance.now();
    const outcome = await processBlob(this.ctx, item, this.options.signal);
    this.count(outcome);
    state.outstanding--;
    this.adapt(outcome, performance.now() - started);
    this.commit();
  }

  private count(outcome: BlobOutcome): void {
    const { counts, progress } = this;
    if (outcome.status === "skipped") counts.blobsSkipped++;
    else if (outcome.status === "expired") counts.blobsExpired++;
    else if (outcome.status === "refused") counts.blobsRefused++;
    else if (outcome.status === "quarantined") counts.blobsQuarantined++;
    else {
      counts.blobsProcessed++;
      addStats(counts, outcome.stats);
    }
    progress.snapshot.blobsDone++;
    progress.snapshot.recordsDone = counts.records;
    progress.emit();
  }

  /**
   * Feeds the controller the blob's time less its wait for a rate limiter token (the mean wait of
   * the tokens handed out since the last blob: the queue is first in, first out, so every taker
   * waits about as long), and whether the API throttled meanwhile.
   */
  private adapt(outcome: BlobOutcome, ms: number): void {
    const { pace } = this.options;
    if (!this.controller || !pace) return;
    const throttled = this.ctx.metrics.get("audit_throttled_total");
    const taken = pace.taken - this.seen.taken;
    const waited = pace.waitedMs - this.seen.waitedMs;
    const wasThrottled = throttled > this.seen.throttled;
    this.seen = { taken: pace.taken, waitedMs: pace.waitedMs, throttled };
    // A skipped blob made no request: its time says nothing about the API's latency.
    if (outcome.status === "skipped" && !wasThrottled) return;
    const waitMs = taken > 0 ? waited / taken : 0;
    this.pool.limit = this.controller.observe(ms - waitMs, wasThrottled);
  }

  /**
   * Advances the checkpoint over every finished window at the head, in order, one write after
   * another. Nothing is written once the pass is stopped by its signal (the lease may be
   * another runtime's now) or a checkpoint write failed; windows finished before a later blob or
   * listing failed still advance, since every blob of theirs is stored.
   */
  private commit(): void {
    this.committing = this.committing
      .then(() => this.advance())
      .catch((error: unknown) => {
        this.commitFailed = true;
        this.fail(error);
      });
  }

  private async advance(): Promise<void> {
    const { ctx, options, counts, progress } = this;
    while (this.head < this.states.length) {
      const state = this.states[this.head];
      if (!state.listed || state.outstanding > 0) return;
      if (options.signal?.aborted || this.commitFailed) return;
      if (state.cut) await recordListingCut(ctx, this.contentType, state.window, state.cut, counts);
      if (options.advancesCheckpoint) {
        options.signal?.throwIfAborted();
        const advanced = await ctx.store.checkpoints.advance(
          this.contentType,
          state.window.to,
          ctx.now(),
        );
        counts.checkpoint = advanced.toISOString();
      }
      this.head++;
      state.ids.clear();
      progress.snapshot.windowsDone++;
      progress.emit();
      ctx.logger.info("window synced", {
        contentType: this.contentType,
        from: state.window.from.toISOString(),
        to: state.window.to.toISOString(),
        checkpoint: counts.checkpoint,
      });
      this.wake();
    }
  }

  private fail(error: unknown): void {
    this.failure ??= { error };
    this.wake();
  }

  /** Waits until `ready()`; every change that can make it true wakes the waiters. */
  private async until(ready: () => boolean): Promise<void> {
    while (!ready()) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  private wake(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }
}

/**
 * The window's listing ended at a NextPageUri that cannot be followed: everything it listed is
 * stored by now; what later pages held may be missing. Record the window and the answer where
 * losses go (gaps, quarantine, metric, error log) and let the checkpoint move on, because the
 * same answer on every retry would hold back every later window until it ages out.
 */
async function recordListingCut(
  ctx: SyncContext,
  contentType: string,
  window: Interval,
  cut: ListingCutError,
  counts: WindowCounts,
): Promise<void> {
  const now = ctx.now();
  const kept = await ctx.store.quarantine.putListing(contentType, window, {
    nextPageUri: cut.nextPageUri,
    why: cut.why,
    pages: cut.pages,
    detectedAt: now.toISOString(),
  });
  await ctx.store.gaps.recordListingCut(
    contentType,
    window,
    `${cut.message} The answer is kept in the quarantine container as ${kept}.`,
    now,
  );
  counts.listingsCut++;
  ctx.metrics.inc("audit_listings_cut_total", { content_type: contentType });
  ctx.logger.error("content listing cut short: a NextPageUri could not be followed", {
    contentType,
    from: window.from.toISOString(),
    to: window.to.toISOString(),
    pages: cut.pages,
    why: cut.why,
    quarantined: kept,
    todo: "the window is in the gaps table; re-list it with once --from/--to when the API answers sanely",
  });
}
