import { LOG_EVENTS } from "../../contract";
import { AF, ApiError, BadContentError, ForeignUriError, ThrottledError } from "../core/errors";
import type { ContentItem } from "../domain/content";
import { RecordCollector, tallyBlob, type BlobStats, type BlobTally } from "../domain/tally";
import type { ContentLoss } from "../storage/gaps";
import { dayOf } from "../storage/keys";
import { archiveBlobName } from "../storage/raw-archive";
import type { StorageOptions } from "../storage/options";
import { MemoryBudget } from "./memory-budget";
import type { ArchiveWriter, SyncContext, SyncStore } from "./pass";

/**
 * 64 MiB of blob data in flight, at most 12 MiB charged per blob: with Node's own ~100 MiB this
 * keeps a pass with 100 MB blobs under 256 MiB RSS at any concurrency.
 */
export const DEFAULT_MEMORY_BUDGET = () => new MemoryBudget(64 * 1024 * 1024, 12 * 1024 * 1024);

/** What became of one listed blob. */
export type BlobOutcome =
  | { status: "skipped" }
  | { status: "expired" }
  | { status: "refused" }
  | { status: "quarantined" }
  | { status: "processed"; stats: BlobStats };

/**
 * Fetches one content blob and stores it: raw archive, then events, then per-app state, then the
 * "processed" mark. Only the mark makes the blob skippable, and it is written last, so a blob
 * interrupted half-way is processed again in full.
 */
export async function processBlob(
  ctx: SyncContext,
  item: ContentItem,
  signal?: AbortSignal,
): Promise<BlobOutcome> {
  const labels = { content_type: item.contentType };
  const options = { abortSignal: signal };
  if (await ctx.store.contentIds.isProcessed(item.contentType, item.contentId, options)) {
    ctx.metrics.inc("audit_blobs_skipped_total", labels);
    return { status: "skipped" };
  }
  const fetched = await fetchBlob(ctx, item, signal);
  if (!fetched.ok) return { status: fetched.loss };

  const { collected } = fetched;
  const tally = tallyBlob(collected, ctx.writtenIds);
  const archiveBlob = archiveBlobName(item);
  // Every write takes the signal: a stop request or a lost lease (another runtime may be the
  // writer now) ends the blob at its next write, and nothing half-written is marked processed.
  // The archive was committed by fetchBlob, before any event is written.
  await storeEvents(ctx.store, tally, options);
  await ctx.store.contentIds.markProcessed(
    item,
    { status: "done", archiveBlob, stats: tally.stats },
    ctx.now(),
    options,
  );
  for (const key of tally.newKeys) ctx.writtenIds.add(key);
  reportBlob(ctx, item, collected, tally.stats);
  return { status: "processed", stats: tally.stats };
}

/**
 * Streams the blob into a collector and its gzip archive, which is uploaded block by block as it
 * is produced and committed at the end. Each attempt starts from scratch, so a truncated first
 * attempt leaves nothing behind. Not ok when the content is lost for good.
 */
async function fetchBlob(
  ctx: SyncContext,
  item: ContentItem,
  signal?: AbortSignal,
): Promise<{ ok: true; collected: RecordCollector } | { ok: false; loss: ContentLoss }> {
  let writer: ArchiveWriter | undefined;
  let collected = new RecordCollector();
  const charge = (ctx.budget ??= DEFAULT_MEMORY_BUDGET()).open();
  const name = archiveBlobName(item);
  try {
    await ctx.api.fetchContent(
      item.contentUri,
      () => {
        writer?.discard();
        charge.release();
        const w = (writer = ctx.store.archive.begin(name, { abortSignal: signal }));
        const c = (collected = new RecordCollector());
        return async (records, lines) => {
          for (const record of records) c.add(record);
          await charge.see(lines.length, signal);
          await w.add(lines);
        };
      },
      { signal },
    );
    await writer!.finish();
  } catch (err) {
    writer?.discard();
    charge.release();
    const loss = lossOf(err);
    if (loss) {
      const detail = loss === "quarantined" ? await quarantine(ctx, item, signal) : undefined;
      await recordLost(ctx, item, loss, err as Error, detail, signal);
      return { ok: false, loss };
    }
    throw err;
  }
  charge.release();
  return { ok: true, collected };
}

/**
 * Which failures lose one blob for good (the pass goes on without it), rather than stop the
 * pass to be retried: the API's AF20052, a contentUri off its origin, and an answer about this
 * one blob that every attempt gave alike: a body that is not a JSON array, or a 4xx the runtime
 * cannot act on. A 401/403 (permission, throttling) or a 408/429 concerns every call, not one
 * blob, so it still fails the pass.
 */
function lossOf(err: unknown): ContentLoss | undefined {
  if (err instanceof ApiError && err.code === AF.contentExpired) return "expired";
  if (err instanceof ForeignUriError) return "refused";
  if (err instanceof BadContentError) return "quarantined";
  if (
    err instanceof ApiError &&
    !(err instanceof ThrottledError) &&
    err.status >= 400 &&
    err.status < 500 &&
    ![401, 403, 407, 408, 429].includes(err.status)
  ) {
    return "quarantined";
  }
  return undefined;
}

/** At most this much of a quarantined blob is kept (its head is enough to see what went wrong). */
const QUARANTINE_MAX_BYTES = 16 * 1024 * 1024;

/** Fetches the blob's bytes as served and keeps them; returns where, for the gaps row. */
async function quarantine(
  ctx: SyncContext,
  item: ContentItem,
  signal?: AbortSignal,
): Promise<string> {
  const raw = await ctx.api.fetchRawContent(item.contentUri, QUARANTINE_MAX_BYTES, { signal });
  const name = await ctx.store.quarantine.put(
    item,
    raw.bytes,
    { reason: `HTTP ${raw.status}`, status: raw.status, truncated: raw.truncated },
    { abortSignal: signal },
  );
  return `kept in the quarantine container as ${name} (HTTP ${raw.status}, ${raw.bytes.length} bytes${raw.truncated ? ", cut" : ""})`;
}

/**
 * Launches and deletes to their tables, then the per-app state they imply, then the Dataverse
 * outbox: the one way events are stored, whichever source they came from.
 */
export async function storeEvents(
  store: SyncStore,
  tally: BlobTally,
  options: StorageOptions = {},
): Promise<void> {
  const events = [...tally.launches, ...tally.deletes];
  // Before the events: a pass killed after them leaves their days marked for rolling up.
  await store.rollups.markDirty(
    events.map((e) => dayOf(e.creationTime)),
    options,
  );
  await Promise.all([
    store.launches.write(tally.launches, options),
    store.deletes.write(tally.deletes, options),
  ]);
  await store.apps.apply(events, options);
  // Before the blob is marked processed, so an event never reaches storage without its way to Dataverse.
  await store.dataverseOutbox?.add(events, options);
}

/**
 * The final word on a blob: the API no longer serves it (AF20052), or it points off the API's
 * origin and is refused (no token goes there). Retrying, or failing the pass, which would retry
 * it forever, cannot help. Record the loss where the 7-day gaps go, then mark the id so a
 * re-listing does not ask again; the pass goes on.
 */
async function recordLost(
  ctx: SyncContext,
  item: ContentItem,
  loss: ContentLoss,
  err: Error,
  where: string | undefined,
  abortSignal: AbortSignal | undefined,
): Promise<void> {
  const now = ctx.now();
  const detail = loss === "quarantined" ? `${err.message} ${where ?? ""}`.trim() : undefined;
  await ctx.store.gaps.recordLostContent(item, loss, now, detail, { abortSignal });
  await ctx.store.contentIds.markProcessed(item, { status: loss, archiveBlob: "" }, now, {
    abortSignal,
  });
  const fields = {
    contentType: item.contentType,
    contentId: item.contentId,
    contentCreated: item.contentCreated,
    contentExpiration: item.contentExpiration,
  };
  if (loss === "expired") {
    ctx.metrics.inc("audit_blobs_expired_total", { content_type: item.contentType });
    ctx.logger.error("content expired before it could be fetched; its records are lost", {
      event: LOG_EVENTS.gapRecorded,
      ...fields,
      todo: "recorded in the gaps table (`gaps` command); the API keeps content 7 days, so fetch lag (throttling, outage) reached the edge",
    });
  } else if (loss === "quarantined") {
    ctx.metrics.inc("audit_blobs_quarantined_total", { content_type: item.contentType });
    ctx.logger.error("content quarantined: what the API served cannot be read", {
      event: LOG_EVENTS.contentQuarantined,
      ...fields,
      error: err,
      quarantine: where,
      todo: "its records are lost; the bytes are kept for a look (`gaps` lists the content id); the other blobs are synced",
    });
  } else {
    ctx.metrics.inc("audit_blobs_refused_total", { content_type: item.contentType });
    // Its records are lost as surely as an expired blob's: the same alert.
    ctx.logger.error("content refused: its contentUri is not on the API's origin", {
      event: LOG_EVENTS.gapRecorded,
      ...fields,
      error: err,
      todo: "recorded in the gaps table (`gaps` command); nothing was sent to that host",
    });
  }
}

/** Metrics and log lines of one stored blob. */
function reportBlob(
  ctx: SyncContext,
  item: ContentItem,
  collected: RecordCollector,
  stats: BlobStats,
): void {
  const { metrics, logger } = ctx;
  const labels = { content_type: item.contentType };
  metrics.inc("audit_blobs_processed_total", labels);
  metrics.inc("audit_records_processed_total", labels, stats.records);
  metrics.inc("audit_launches_total", labels, stats.launches);
  metrics.inc("audit_deletes_total", labels, stats.deletes);
  metrics.inc("audit_duplicate_records_total", labels, stats.duplicates);
  metrics.inc("audit_unparsed_records_total", labels, stats.unparsed);
  if (collected.newest) {
    const newestSeconds = Math.max(
      metrics.get("audit_newest_record_timestamp_seconds", labels),
      Math.floor(Date.parse(collected.newest) / 1000),
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
      example: collected.firstUnparsed,
    });
  }
  logger.debug("blob processed", { contentId: item.contentId, ...stats });
}
