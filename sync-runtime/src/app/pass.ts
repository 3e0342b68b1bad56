import type { ProgressSnapshot } from "../domain/progress-snapshot";
import { emptyStats } from "../domain/tally";
import { planPass, type Interval, type PassPlan } from "../domain/windows";
import type { SyncContext } from "./content-blob";
import { ensureSubscriptions } from "./subscriptions";
import { Progress, syncWindows, type RatePace, type WindowCounts } from "./window-pipeline";

export type { SyncContext, SyncStore } from "./content-blob";

export interface PassOptions {
  contentTypes: string[];
  from?: Date;
  to?: Date;
  overlapMs: number;
  firstRunMs: number;
  /** The most blobs in flight (AUDIT_BLOB_CONCURRENCY); with `pace`, fewer when that is enough. */
  blobConcurrency: number;
  /** The API client's rate limiter, whose rate and queue the number of blobs in flight follows. */
  pace?: RatePace;
  onProgress?: (snapshot: ProgressSnapshot) => void;
  signal?: AbortSignal;
}

export interface ContentTypeResult extends WindowCounts {
  contentType: string;
  from: string;
  to: string;
  windows: number;
  gap?: { from: string; to: string };
}

/**
 * One sync pass: make sure the subscriptions are on, then for each content type plan windows
 * from the checkpoint, list them in order while their blobs are stored by one pool whose size
 * adapts to latency and the rate limit, and advance the checkpoint in window order over each
 * window whose every blob is stored (window-pipeline.ts). Killed at any point, the next pass
 * redoes at most the unfinished windows, skipping blobs already recorded as processed; all
 * writes are idempotent.
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
  await syncWindows(
    ctx,
    contentType,
    plan.windows,
    {
      blobConcurrency: options.blobConcurrency,
      pace: options.pace,
      advancesCheckpoint: plan.advancesCheckpoint,
      signal: options.signal,
    },
    result,
    progress,
  );
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
