import type { TableClient } from "@azure/data-tables";
import type { ContainerClient } from "@azure/storage-blob";
import type { ActivityApi, ContentItem } from "../api/activity-api";
import { ApiError } from "../errors";
import type { Logger } from "../log";
import type { Metrics } from "../metrics";
import type { ProgressSnapshot } from "../progress/progress-snapshot";
import { WrittenIds } from "../records/dedupe";
import { classifyRecord, type PowerAppEvent } from "../records/normalise";
import type { AppsSink } from "../sinks/apps";
import { writeEvents } from "../sinks/events";
import { archiveBlobName, NdjsonGzipWriter, uploadArchive } from "../sinks/raw-archive";
import type { Checkpoints } from "../state/checkpoints";
import type { BlobStats, ContentIds } from "../state/content-ids";
import type { Gaps } from "../state/gaps";
import { TaskPool } from "./pool";
import { ensureSubscriptions } from "./subscriptions";
import { planPass, type Interval } from "./windows";

/** Everything a pass reads and writes. */
export interface SyncStore {
  checkpoints: Checkpoints;
  contentIds: ContentIds;
  gaps: Gaps;
  raw: ContainerClient;
  launches: TableClient;
  deletes: TableClient;
  apps: AppsSink;
}

export interface SyncContext {
  api: ActivityApi;
  store: SyncStore;
  metrics: Metrics;
  logger: Logger;
  now: () => Date;
  /** Shared across passes of one process (serve), so duplicates are counted across passes. */
  writtenIds: WrittenIds;
}

export interface PassOptions {
  contentTypes: string[];
  from?: Date;
  to?: Date;
  overlapMs: number;
  firstRunMs: number;
  blobConcurrency: number;
  ensureSubscriptions?: boolean;
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
  gap?: { from: string; to: string };
  checkpoint?: string;
}

/**
 * One sync pass: for each content type, plan windows from the checkpoint, list every page of each
 * window, process its blobs with bounded concurrency, and advance the checkpoint window by window
 * once every blob of the window is stored. Killed at any point, the next pass redoes at most the
 * unfinished window, skipping blobs already recorded as processed; all writes are idempotent.
 */
export async function runPass(
  ctx: SyncContext,
  options: PassOptions,
): Promise<ContentTypeResult[]> {
  if (options.ensureSubscriptions ?? true) {
    await ensureSubscriptions(ctx.api, options.contentTypes, ctx.logger);
  }
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
  const { store, metrics, logger } = ctx;
  const now = ctx.now();
  const checkpoint = await store.checkpoints.get(contentType);
  const plan = planPass({
    now,
    checkpoint,
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
    records: 0,
    launches: 0,
    deletes: 0,
    unparsed: 0,
    duplicates: 0,
  };
  const labels = { content_type: contentType };

  if (plan.gap) {
    await store.gaps.record(contentType, plan.gap, now);
    const seconds = Math.round((plan.gap.to.getTime() - plan.gap.from.getTime()) / 1000);
    metrics.inc("audit_gaps_total", labels);
    metrics.inc("audit_gap_seconds_total", labels, seconds);
    result.gap = { from: plan.gap.from.toISOString(), to: plan.gap.to.toISOString() };
    logger.error("unrecoverable gap: the checkpoint is older than the API keeps content (7 days)", {
      contentType,
      gapFrom: result.gap.from,
      gapTo: result.gap.to,
      seconds,
      todo: "content created in this interval can no longer be fetched; it is recorded in the gaps table",
    });
  }
  if (plan.clampedFrom) {
    logger.warn(
      "--from is older than the API keeps content (7 days); starting at the oldest allowed time",
      {
        contentType,
        requestedFrom: plan.clampedFrom.toISOString(),
        from: result.from,
      },
    );
  }

  const progress: ProgressSnapshot = {
    contentType,
    windowsDone: 0,
    windowsTotal: plan.windows.length,
    blobsDone: 0,
    blobsKnown: 0,
    recordsDone: 0,
    startedAt: new Date(),
  };
  const emit = () => options.onProgress?.({ ...progress });
  emit();

  for (const window of plan.windows) {
    options.signal?.throwIfAborted();
    await syncWindow(ctx, options, contentType, window, result, progress, emit);
    if (plan.advancesCheckpoint) {
      result.checkpoint = (
        await store.checkpoints.advance(contentType, window.to, ctx.now())
      ).toISOString();
    }
    progress.windowsDone++;
    emit();
    logger.info("window synced", {
      contentType,
      from: window.from.toISOString(),
      to: window.to.toISOString(),
      checkpoint: result.checkpoint,
    });
  }
  return result;
}

async function syncWindow(
  ctx: SyncContext,
  options: PassOptions,
  contentType: string,
  window: Interval,
  result: ContentTypeResult,
  progress: ProgressSnapshot,
  emit: () => void,
): Promise<void> {
  const pool = new TaskPool(options.blobConcurrency);
  const listedHere = new Set<string>();
  for await (const page of ctx.api.listContent(contentType, window.from, window.to)) {
    for (const item of page) {
      // A content id listed twice in one window (across pages) is processed once.
      if (listedHere.has(item.contentId)) continue;
      listedHere.add(item.contentId);
      result.blobsListed++;
      progress.blobsKnown++;
      if (pool.failed || options.signal?.aborted) break;
      await pool.submit(async () => {
        await processBlob(ctx, item, result);
        progress.blobsDone++;
        progress.recordsDone = result.records;
        emit();
      });
    }
    emit();
    if (pool.failed || options.signal?.aborted) break;
  }
  await pool.drain();
  options.signal?.throwIfAborted();
}

/**
 * Fetches one content blob and stores it: raw archive, then events, then per-app state, then the
 * "processed" mark. Only the mark makes the blob skippable, and it is written last.
 */
async function processBlob(
  ctx: SyncContext,
  item: ContentItem,
  result: ContentTypeResult,
): Promise<void> {
  const { api, store, metrics, logger, writtenIds } = ctx;
  const labels = { content_type: item.contentType };
  if (await store.contentIds.isProcessed(item.contentType, item.contentId)) {
    result.blobsSkipped++;
    metrics.inc("audit_blobs_skipped_total", labels);
    return;
  }

  let writer: NdjsonGzipWriter | undefined;
  let events: PowerAppEvent[] = [];
  let stats: BlobStats = emptyStats();
  let newest = "";
  let firstUnparsed: { reason: string; recordId?: string } | undefined;
  let unparsedIds = new Set<string>();
  try {
    await api.fetchContent(item.contentUri, () => {
      // Each attempt starts from scratch: a truncated first attempt leaves nothing behind.
      writer?.discard();
      const w = (writer = new NdjsonGzipWriter());
      events = [];
      stats = emptyStats();
      newest = "";
      firstUnparsed = undefined;
      unparsedIds = new Set();
      return (records) => {
        for (const raw of records) {
          w.add(raw);
          stats.records++;
          const c = classifyRecord(raw);
          if (c.type === "unparsed") {
            // Counted once per record Id, like events, so a duplicate does not inflate the count.
            if (c.recordId) unparsedIds.add(c.recordId);
            else stats.unparsed++;
            firstUnparsed ??= { reason: c.reason, recordId: c.recordId };
            continue;
          }
          const time = c.type === "event" ? c.event.creationTime : c.creationTime;
          if (time > newest) newest = time;
          if (c.type === "event") events.push(c.event);
        }
      };
    });
  } catch (err) {
    writer?.discard();
    if (err instanceof ApiError && err.afCode === "AF20052") {
      // The API's final word: this content can never be fetched again, so retrying (or failing
      // the pass, which would retry it forever) cannot help. Record the loss where the 7-day
      // gaps go, then mark the id so a re-listing does not ask again; the pass goes on.
      const now = ctx.now();
      await store.gaps.recordExpiredContent(item, now);
      await store.contentIds.markProcessed(item, { status: "expired", archiveBlob: "" }, now);
      result.blobsExpired++;
      metrics.inc("audit_blobs_expired_total", labels);
      logger.error("content expired before it could be fetched; its records are lost", {
        contentType: item.contentType,
        contentId: item.contentId,
        contentCreated: item.contentCreated,
        contentExpiration: item.contentExpiration,
        todo: "recorded in the gaps table (`gaps` command); the API keeps content 7 days, so fetch lag (throttling, outage) reached the edge",
      });
      return;
    }
    throw err;
  }

  const gz = await writer!.finish();
  const archiveBlob = archiveBlobName(item);
  await uploadArchive(store.raw, archiveBlob, gz);

  const fresh: PowerAppEvent[] = [];
  const inBlob = new Set<string>();
  for (const e of events) {
    const key = `${e.kind}:${e.recordId}`;
    if (inBlob.has(key) || writtenIds.has(key)) {
      stats.duplicates++;
      continue;
    }
    inBlob.add(key);
    fresh.push(e);
  }
  for (const id of unparsedIds) {
    const key = `unparsed:${id}`;
    if (writtenIds.has(key)) continue;
    inBlob.add(key);
    stats.unparsed++;
  }
  const launches = fresh.filter((e) => e.kind === "launch");
  const deletes = fresh.filter((e) => e.kind === "delete");
  await Promise.all([writeEvents(store.launches, launches), writeEvents(store.deletes, deletes)]);
  await store.apps.apply(fresh);
  stats.launches = launches.length;
  stats.deletes = deletes.length;
  await store.contentIds.markProcessed(item, { status: "done", archiveBlob, stats }, ctx.now());
  for (const key of inBlob) writtenIds.add(key);

  result.blobsProcessed++;
  for (const k of ["records", "launches", "deletes", "unparsed", "duplicates"] as const)
    result[k] += stats[k];
  metrics.inc("audit_blobs_processed_total", labels);
  metrics.inc("audit_records_processed_total", labels, stats.records);
  metrics.inc("audit_launches_total", labels, stats.launches);
  metrics.inc("audit_deletes_total", labels, stats.deletes);
  metrics.inc("audit_duplicate_records_total", labels, stats.duplicates);
  metrics.inc("audit_unparsed_records_total", labels, stats.unparsed);
  if (newest) {
    const newestSeconds = Math.max(
      metrics.get("audit_newest_record_timestamp_seconds", labels),
      Math.floor(Date.parse(newest) / 1000),
    );
    metrics.set("audit_newest_record_timestamp_seconds", newestSeconds, labels);
    metrics.set(
      "audit_lag_seconds",
      Math.max(0, Math.round(ctx.now().getTime() / 1000 - newestSeconds)),
      labels,
    );
  }
  if (stats.unparsed > 0) {
    logger.warn("records without a recognisable app id were archived but not counted", {
      contentType: item.contentType,
      contentId: item.contentId,
      unparsed: stats.unparsed,
      example: firstUnparsed,
    });
  }
  logger.debug("blob processed", { contentId: item.contentId, ...stats });
}

function emptyStats(): BlobStats {
  return { records: 0, launches: 0, deletes: 0, unparsed: 0, duplicates: 0 };
}
