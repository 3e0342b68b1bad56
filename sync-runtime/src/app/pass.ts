import { ListingCutError } from "../core/errors";
import type { ProgressSnapshot } from "../domain/progress-snapshot";
import { addStats, emptyStats, type BlobStats } from "../domain/tally";
import { planPass, type Interval, type PassPlan } from "../domain/windows";
import { processBlob, type SyncContext } from "./blob";
import { TaskPool } from "./pool";
import { ensureSubscriptions } from "./subscriptions";

export type { SyncContext, SyncStore } from "./blob";

export interface PassOptions {
  contentTypes: string[];
  from?: Date;
  to?: Date;
  overlapMs: number;
  firstRunMs: number;
  blobConcurrency: number;
  onProgress?: (snapshot: ProgressSnapshot) => void;
  signal?: AbortSignal;
}

export interface ContentTypeResult extends BlobStats {
  contentType: string;
  from: string;
  to: string;
  windows: number;
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
  gap?: { from: string; to: string };
  checkpoint?: string;
}

/**
 * One sync pass: make sure the subscriptions are on, then for each content type plan windows
 * from the checkpoint, list every page of each window, process its blobs with bounded
 * concurrency, and advance the checkpoint window by window once every blob of the window is
 * stored. Killed at any point, the next pass redoes at most the unfinished window, skipping blobs
 * already recorded as processed; all writes are idempotent.
 */
export async function runPass(
  ctx: SyncContext,
  options: PassOptions,
): Promise<ContentTypeResult[]> {
  await ensureSubscriptions(ctx.api, options.contentTypes, ctx.logger, options.signal);
  const results: ContentTypeResult[] = [];
  for (const contentType of options.contentTypes) {
    options.signal?.throwIfAborted();
    results.push(await syncContentType(ctx, options, contentType));
  }
  return results;
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

async function syncContentType(
  ctx: SyncContext,
  options: PassOptions,
  contentType: string,
): Promise<ContentTypeResult> {
  const now = ctx.now();
  const plan = planPass({
    now,
    checkpoint: await ctx.store.checkpoints.get(contentType),
    requestedFrom: options.from,
    requestedTo: options.to,
    overlapMs: options.overlapMs,
    firstRunMs: options.firstRunMs,
  });
  const result: ContentTypeResult = {
    contentType,
    from: plan.from.toISOString(),
    to: plan.to.toISOString(),
    windows: plan.windows.length,
    blobsListed: 0,
    blobsProcessed: 0,
    blobsSkipped: 0,
    blobsExpired: 0,
    blobsRefused: 0,
    blobsQuarantined: 0,
    listingsCut: 0,
    ...emptyStats(),
  };
  if (plan.gap) {
    options.signal?.throwIfAborted();
    result.gap = await recordGap(ctx, contentType, plan.gap, now);
  }
  if (plan.clampedFrom) warnClamped(ctx, contentType, plan);

  const progress = new Progress(contentType, plan.windows.length, options.onProgress);
  progress.emit();
  for (const window of plan.windows) {
    options.signal?.throwIfAborted();
    await syncWindow(ctx, options, contentType, window, result, progress);
    if (plan.advancesCheckpoint) {
      options.signal?.throwIfAborted();
      const advanced = await ctx.store.checkpoints.advance(contentType, window.to, ctx.now());
      result.checkpoint = advanced.toISOString();
    }
    progress.snapshot.windowsDone++;
    progress.emit();
    ctx.logger.info("window synced", {
      contentType,
      from: window.from.toISOString(),
      to: window.to.toISOString(),
      checkpoint: result.checkpoint,
    });
  }
  return result;
}

/** A checkpoint older than the API keeps content: the interval is lost; say so everywhere. */
async function recordGap(
  ctx: SyncContext,
  contentType: string,
  gap: Interval,
  now: Date,
): Promise<{ from: string; to: string }> {
  const labels = { content_type: contentType };
  await ctx.store.gaps.record(contentType, gap, now);
  const seconds = Math.round((gap.to.getTime() - gap.from.getTime()) / 1000);
  ctx.metrics.inc("audit_gaps_total", labels);
  ctx.metrics.inc("audit_gap_seconds_total", labels, seconds);
  const shown = { from: gap.from.toISOString(), to: gap.to.toISOString() };
  ctx.logger.error(
    "unrecoverable gap: the checkpoint is older than the API keeps content (7 days)",
    {
      contentType,
      gapFrom: shown.from,
      gapTo: shown.to,
      seconds,
      todo: "content created in this interval can no longer be fetched; it is recorded in the gaps table",
    },
  );
  return shown;
}

function warnClamped(ctx: SyncContext, contentType: string, plan: PassPlan): void {
  ctx.logger.warn(
    "--from is older than the API keeps content (7 days); starting at the oldest allowed time",
    {
      contentType,
      requestedFrom: plan.clampedFrom!.toISOString(),
      from: plan.from.toISOString(),
    },
  );
}

/** Lists every page of one window and processes each new content id once, `blobConcurrency` at a time. */
async function syncWindow(
  ctx: SyncContext,
  options: PassOptions,
  contentType: string,
  window: Interval,
  result: ContentTypeResult,
  progress: Progress,
): Promise<void> {
  const pool = new TaskPool(options.blobConcurrency);
  const listedHere = new Set<string>();
  const stop = () => pool.failed || options.signal?.aborted === true;
  const pages = ctx.api.listContent(contentType, window.from, window.to, {
    signal: options.signal,
  });
  let cut: ListingCutError | undefined;
  try {
    for await (const page of pages) {
      for (const item of page) {
        // A content id listed twice in one window (across pages) is processed once.
        if (listedHere.has(item.contentId)) continue;
        listedHere.add(item.contentId);
        result.blobsListed++;
        progress.snapshot.blobsKnown++;
        if (stop()) break;
        await pool.submit(async () => {
          const outcome = await processBlob(ctx, item, options.signal);
          if (outcome.status === "skipped") result.blobsSkipped++;
          else if (outcome.status === "expired") result.blobsExpired++;
          else if (outcome.status === "refused") result.blobsRefused++;
          else if (outcome.status === "quarantined") result.blobsQuarantined++;
          else {
            result.blobsProcessed++;
            addStats(result, outcome.stats);
          }
          progress.snapshot.blobsDone++;
          progress.snapshot.recordsDone = result.records;
          progress.emit();
        });
      }
      progress.emit();
      if (stop()) break;
    }
  } catch (err) {
    if (!(err instanceof ListingCutError)) throw err;
    cut = err;
  }
  await pool.drain();
  options.signal?.throwIfAborted();
  if (cut) await recordListingCut(ctx, contentType, window, cut, result);
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
  result: ContentTypeResult,
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
  result.listingsCut++;
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
