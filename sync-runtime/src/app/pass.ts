import { LOG_EVENTS } from "../../contract";
import type { ActivityApi } from "../clients/activity-api";
import type { ListingCutError } from "../core/errors";
import type { Logger } from "../core/log";
import type { Metrics } from "../core/metrics";
import type { ContentItem } from "../domain/content";
import type { ProgressSnapshot } from "../domain/progress-snapshot";
import type { PowerAppEvent } from "../domain/records";
import type { BlobStats } from "../domain/tally";
import { planPass, type Interval, type PassPlan } from "../domain/windows";
import type { WrittenIds } from "../domain/written-ids";
import type { ContentLoss } from "../storage/gaps";
import type { StorageOptions } from "../storage/options";
import { processBlob } from "./content-blob";
import type { MemoryBudget } from "./memory-budget";
import { ensureSubscriptions } from "./subscriptions";
import { syncWindows, type PaceSignals, type WindowCounts } from "./window-pipeline";

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

/** What a pass works with: the API, the stores it writes, and what it reports to. */
export interface SyncContext {
  api: ActivityApi;
  store: SyncStore;
  metrics: Metrics;
  logger: Logger;
  now: () => Date;
  /** Shared across passes of one process (serve), so duplicates are counted across passes. */
  writtenIds: WrittenIds;
  /** Bytes of blob data in flight across the pass (default: DEFAULT_MEMORY_BUDGET). */
  budget?: MemoryBudget;
}

/**
 * What a pass needs of storage: one small interface per store, the calls the pass makes and no
 * more (storage/ implements them; a test can keep them in memory). Each call takes the pass's
 * abort signal, so a stop ends a write in flight.
 */
export interface SyncStore {
  checkpoints: CheckpointStore;
  contentIds: ProcessedMarks;
  gaps: LossLedger;
  archive: ArchiveStore;
  quarantine: QuarantineStore;
  launches: EventStore;
  deletes: EventStore;
  apps: AppStateStore;
  /** Set when the Dataverse sink is on: the events it has still to write. */
  dataverseOutbox?: OutboxStore;
  rollups: DirtyDays;
}

/** One checkpoint per content type (or source); it only moves forward. */
export interface CheckpointStore {
  get(key: string, options?: StorageOptions): Promise<Date | undefined>;
  /** Moves it to `syncedTo` unless it is later already; returns where it is now. */
  advance(key: string, syncedTo: Date, now: Date, options?: StorageOptions): Promise<Date>;
}

/** Which content blobs are done (stored, or lost for good): the mark that makes one skippable. */
export interface ProcessedMarks {
  isProcessed(contentType: string, contentId: string, options?: StorageOptions): Promise<boolean>;
  markProcessed(
    item: ContentItem,
    result: { status: "done" | ContentLoss; archiveBlob: string; stats?: BlobStats },
    now: Date,
    options?: StorageOptions,
  ): Promise<void>;
}

/** Where what could not be synced is recorded (the `gaps` command lists it). */
export interface LossLedger {
  record(key: string, gap: Interval, now: Date, options?: StorageOptions): Promise<void>;
  recordLostContent(
    item: ContentItem,
    loss: ContentLoss,
    now: Date,
    detail?: string,
    options?: StorageOptions,
  ): Promise<void>;
  recordListingCut(
    contentType: string,
    window: Interval,
    detail: string,
    now: Date,
    options?: StorageOptions,
  ): Promise<void>;
}

/** The raw archive: one gzip NDJSON blob per content blob (or Graph page), streamed in. */
export interface ArchiveStore {
  begin(name: string, options?: StorageOptions): ArchiveWriter;
}

export interface ArchiveWriter {
  add(lines: Uint8Array | string): Promise<void>;
  /** Commits: the archive exists under its name after this. */
  finish(): Promise<void>;
  /** Drops an attempt that failed half-way; nothing is committed. */
  discard(): void;
}

/** Bytes the API served that cannot be read, kept for a look. */
export interface QuarantineStore {
  put(
    item: ContentItem,
    bytes: Buffer,
    meta: { reason: string; status: number; truncated: boolean },
    options?: StorageOptions,
  ): Promise<string>;
  putListing(
    contentType: string,
    window: Interval,
    answer: { nextPageUri: string; why: string; pages: number; detectedAt: string },
    options?: StorageOptions,
  ): Promise<string>;
}

/** The launches or the deletes: rows keyed by the record, so a record written twice counts once. */
export interface EventStore {
  write(events: PowerAppEvent[], options?: StorageOptions): Promise<void>;
}

/** The Dataverse sink's outbox: events stored here leave once Dataverse has them. */
export interface OutboxStore {
  add(events: PowerAppEvent[], options?: StorageOptions): Promise<void>;
}

/** Per-app state folded from the events (first and last launch, deleted). */
export interface AppStateStore {
  apply(events: PowerAppEvent[], options?: StorageOptions): Promise<void>;
}

/** The days whose events changed, to be rolled up after the pass. */
export interface DirtyDays {
  markDirty(days: Iterable<string>, options?: StorageOptions): Promise<void>;
}

export interface PassOptions {
  contentTypes: string[];
  from?: Date;
  to?: Date;
  overlapMs: number;
  firstRunMs: number;
  /** The most blobs in flight (AUDIT_BLOB_CONCURRENCY); with `pace`, fewer when that is enough. */
  blobConcurrency: number;
  /** The API client's traffic, which the number of blobs in flight follows. */
  pace?: PaceSignals;
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

async function syncContentType(
  ctx: SyncContext,
  options: PassOptions,
  contentType: string,
): Promise<ContentTypeResult> {
  const { signal } = options;
  const now = ctx.now();
  const plan = planPass({
    now,
    checkpoint: await ctx.store.checkpoints.get(contentType, { abortSignal: signal }),
    requestedFrom: options.from,
    requestedTo: options.to,
    overlapMs: options.overlapMs,
    firstRunMs: options.firstRunMs,
  });
  const gap = plan.gap ? await recordGap(ctx, contentType, plan.gap, now, signal) : undefined;
  if (plan.clampedFrom) warnClamped(ctx, contentType, plan);

  const { checkpoint, ...counts } = await syncWindows({
    contentType,
    windows: plan.windows,
    work: {
      list: (window, abortSignal) =>
        ctx.api.listContent(contentType, window.from, window.to, { signal: abortSignal }),
      storeBlob: (item, abortSignal) => processBlob(ctx, item, abortSignal),
      commit: plan.advancesCheckpoint
        ? (window, abortSignal) =>
            ctx.store.checkpoints.advance(contentType, window.to, ctx.now(), { abortSignal })
        : undefined,
      recordListingCut: (window, cut, abortSignal) =>
        recordListingCut(ctx, contentType, window, cut, abortSignal),
    },
    blobConcurrency: options.blobConcurrency,
    pace: options.pace,
    logger: ctx.logger,
    onProgress: options.onProgress,
    signal,
  });
  return {
    contentType,
    from: plan.from.toISOString(),
    to: plan.to.toISOString(),
    windows: plan.windows.length,
    ...counts,
    ...(gap ? { gap } : {}),
    ...(checkpoint !== undefined ? { checkpoint } : {}),
  };
}

/** A checkpoint older than the API keeps content: the interval is lost; say so everywhere. */
async function recordGap(
  ctx: SyncContext,
  contentType: string,
  gap: Interval,
  now: Date,
  abortSignal?: AbortSignal,
): Promise<{ from: string; to: string }> {
  const labels = { content_type: contentType };
  await ctx.store.gaps.record(contentType, gap, now, { abortSignal });
  const seconds = Math.round((gap.to.getTime() - gap.from.getTime()) / 1000);
  ctx.metrics.inc("audit_gaps_total", labels);
  ctx.metrics.inc("audit_gap_seconds_total", labels, seconds);
  const shown = { from: gap.from.toISOString(), to: gap.to.toISOString() };
  ctx.logger.error(
    "unrecoverable gap: the checkpoint is older than the API keeps content (7 days)",
    {
      event: LOG_EVENTS.gapRecorded,
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
  abortSignal?: AbortSignal,
): Promise<void> {
  const now = ctx.now();
  const kept = await ctx.store.quarantine.putListing(
    contentType,
    window,
    {
      nextPageUri: cut.nextPageUri,
      why: cut.why,
      pages: cut.pages,
      detectedAt: now.toISOString(),
    },
    { abortSignal },
  );
  await ctx.store.gaps.recordListingCut(
    contentType,
    window,
    `${cut.message} The answer is kept in the quarantine container as ${kept}.`,
    now,
    { abortSignal },
  );
  ctx.metrics.inc("audit_listings_cut_total", { content_type: contentType });
  ctx.logger.error("content listing cut short: a NextPageUri could not be followed", {
    event: LOG_EVENTS.listingCut,
    contentType,
    from: window.from.toISOString(),
    to: window.to.toISOString(),
    pages: cut.pages,
    why: cut.why,
    quarantined: kept,
    todo: "the window is in the gaps table; re-list it with once --from/--to when the API answers sanely",
  });
}
