import { ListingCutError } from "../core/errors";
import type { Logger } from "../core/log";
import { ConcurrencyController } from "../domain/concurrency";
import type { ContentItem } from "../domain/content";
import type { ProgressSnapshot } from "../domain/progress-snapshot";
import { addStats, emptyStats, type BlobStats } from "../domain/tally";
import type { Interval } from "../domain/windows";
import type { BlobOutcome } from "./content-blob";
import { BoundedQueue } from "./bounded-queue";
import { TaskPool } from "./pool";

/**
 * Windows listed beyond the first unfinished one. Listing ahead keeps blobs flowing across a
 * window's end; the bound keeps what a killed pass redoes (every window not committed) small.
 */
export const LOOKAHEAD_WINDOWS = 2;
/** Listed blobs waiting for a slot: enough to cover a listing page's latency, a bound on memory. */
export const QUEUED_BLOBS = 1000;

/**
 * What the pool's size is decided from: the rate the API client allows itself, and running
 * totals of what its traffic met. An explicit channel from the client to the pool, read between
 * blobs.
 */
export interface PaceSignals {
  readonly ratePerMinute: number;
  read(): PaceTotals;
}

export interface PaceTotals {
  /** Rate limiter tokens handed out so far. */
  taken: number;
  /** Ms the takers of those tokens waited in all. */
  waitedMs: number;
  /** Answers that throttled the client (HTTP 429, or 403 with AF429). */
  throttled: number;
}

/**
 * What a window pipeline needs around it, for one content type: where its windows are listed and
 * its blobs stored, and how a finished window is committed. Each call takes the pass's signal.
 */
export interface WindowWork {
  /** One window's content, page by page. */
  list(window: Interval, signal?: AbortSignal): AsyncIterable<ContentItem[]>;
  /** Stores one listed blob; the outcome says what became of it. */
  storeBlob(item: ContentItem, signal?: AbortSignal): Promise<BlobOutcome>;
  /** Moves the checkpoint to a finished window's end; returns where it is. Unset: it stays. */
  commit?(window: Interval, signal?: AbortSignal): Promise<Date>;
  /** Records a window whose listing was cut short (see ListingCutError). */
  recordListingCut(window: Interval, cut: ListingCutError, signal?: AbortSignal): Promise<void>;
}

export interface WindowsOptions {
  contentType: string;
  /** The planned windows, in order. */
  windows: Interval[];
  work: WindowWork;
  /** The most blobs in flight; the pool's size when there is no `pace` to adapt to. */
  blobConcurrency: number;
  /** The API client's traffic: with it, the pool's size adapts to latency and rate. */
  pace?: PaceSignals;
  logger: Logger;
  onProgress?: (snapshot: ProgressSnapshot) => void;
  signal?: AbortSignal;
}

/** What one content type's pass counts, as blobs and windows finish. */
export interface WindowCounts extends BlobStats {
  /** Where the checkpoint is after the last committed window (unset when none moved it). */
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
class Progress {
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
export async function syncWindows(options: WindowsOptions): Promise<WindowCounts> {
  const pipeline = new WindowPipeline(options);
  await pipeline.run();
  return pipeline.counts;
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
  /** The pace totals at the last blob's end, to take the next one's share from. */
  private seen: PaceTotals | undefined;
  readonly counts: WindowCounts = {
    blobsListed: 0,
    blobsProcessed: 0,
    blobsSkipped: 0,
    blobsExpired: 0,
    blobsRefused: 0,
    blobsQuarantined: 0,
    listingsCut: 0,
    ...emptyStats(),
  };
  private readonly progress: Progress;

  constructor(private readonly options: WindowsOptions) {
    this.progress = new Progress(options.contentType, options.windows.length, options.onProgress);
    this.states = options.windows.map((window) => ({
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
    this.seen = pace?.read();
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
    this.progress.emit();
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
    const pages = this.options.work.list(state.window, this.options.signal);
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
    const outcome = await this.options.work.storeBlob(item, this.options.signal);
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
    if (!this.controller || !pace || !this.seen) return;
    const now = pace.read();
    const taken = now.taken - this.seen.taken;
    const waited = now.waitedMs - this.seen.waitedMs;
    const wasThrottled = now.throttled > this.seen.throttled;
    this.seen = now;
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
    const { options, counts, progress } = this;
    const { work, signal } = options;
    while (this.head < this.states.length) {
      const state = this.states[this.head];
      if (!state.listed || state.outstanding > 0) return;
      if (signal?.aborted || this.commitFailed) return;
      if (state.cut) {
        await work.recordListingCut(state.window, state.cut, signal);
        counts.listingsCut++;
      }
      if (work.commit) counts.checkpoint = (await work.commit(state.window, signal)).toISOString();
      this.head++;
      state.ids.clear();
      progress.snapshot.windowsDone++;
      progress.emit();
      options.logger.info("window synced", {
        contentType: options.contentType,
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
