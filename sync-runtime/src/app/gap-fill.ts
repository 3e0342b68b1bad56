import { addStats, emptyStats, type BlobStats } from "../domain/tally";
import type { Interval } from "../domain/windows";
import type { GapRecord } from "../storage/gaps";
import type { StorageOptions } from "../storage/options";
import {
  GRAPH_RETENTION_MS,
  GRAPH_SOURCE_KEY,
  runGraphPass,
  type GraphContext,
  type GraphPassOptions,
} from "./graph-pass";

/** What a gap fill needs beyond a Graph pass: the recorded losses, to read and mark filled. */
export interface GapFillContext extends GraphContext {
  store: GraphContext["store"] & { gaps: GraphContext["store"]["gaps"] & RecordedGaps };
}

export interface RecordedGaps {
  list(options?: StorageOptions): Promise<GapRecord[]>;
  markFilled(gap: GapRecord, by: string, now: Date, options?: StorageOptions): Promise<void>;
}

/**
 * Records of a lost interval or blob were created somewhat before the content that held them
 * (they become available 60-90 minutes after the event, sometimes hours), so the fill reads this
 * much earlier as well. Reading more than was lost costs nothing: writes are keyed by record Id.
 */
export const FILL_MARGIN_MS = 24 * 3_600_000;

export interface GapFillResult extends BlobStats {
  source: "graph";
  /** Gaps read again from Graph and marked filled. */
  filled: { contentType: string; from: string; to: string; contentId?: string }[];
  /** Gaps left as they are: already filled, Graph's own, or past the audit retention. */
  skipped: { contentType: string; reason: string; contentId?: string; from?: string }[];
  queries: number;
  pages: number;
}

/** The record-time interval that covers what a recorded loss held. */
export function fillInterval(gap: GapRecord): Interval {
  const [from, to] = "from" in gap ? [gap.from, gap.to] : [gap.contentCreated, gap.contentCreated];
  // The end is exclusive; a lost blob's last record may carry its contentCreated second.
  return {
    from: new Date(Date.parse(from) - FILL_MARGIN_MS),
    to: new Date(Date.parse(to) + 1000),
  };
}

/**
 * Fills what the Management API path lost (intervals older than its 7 days, expired, refused or
 * quarantined blobs) from Microsoft Graph, which keeps records for the audit retention. Each gap
 * is read with its own Graph pass that never moves a checkpoint, then marked filled; the report
 * reads the same tables, so it counts the recovered events.
 */
export async function fillGapsFromGraph(
  ctx: GapFillContext,
  options: GraphPassOptions,
): Promise<GapFillResult> {
  const abortSignal = options.signal;
  const result: GapFillResult = {
    source: "graph",
    filled: [],
    skipped: [],
    queries: 0,
    pages: 0,
    ...emptyStats(),
  };
  const oldest = ctx.now().getTime() - GRAPH_RETENTION_MS;
  for (const gap of await ctx.store.gaps.list({ abortSignal })) {
    options.signal?.throwIfAborted();
    const which = {
      contentType: gap.contentType,
      ...("contentId" in gap ? { contentId: gap.contentId } : { from: gap.from }),
    };
    if (gap.filledAt) {
      result.skipped.push({ ...which, reason: `filled ${gap.filledAt} by ${gap.filledBy}` });
      continue;
    }
    if (gap.contentType === GRAPH_SOURCE_KEY) {
      result.skipped.push({ ...which, reason: "lost to Graph itself (past the audit retention)" });
      continue;
    }
    const window = fillInterval(gap);
    if (window.to.getTime() <= oldest) {
      result.skipped.push({ ...which, reason: "older than the audit retention (180 days)" });
      ctx.logger.warn("gap is older than the audit retention; Graph cannot fill it", which);
      continue;
    }
    const pass = await runGraphPass(ctx, {
      ...options,
      from: window.from,
      to: window.to,
      checkpoint: false,
    });
    await ctx.store.gaps.markFilled(gap, GRAPH_SOURCE_KEY, ctx.now(), { abortSignal });
    addStats(result, pass);
    result.queries += pass.queries;
    result.pages += pass.pages;
    result.filled.push({
      contentType: gap.contentType,
      from: pass.from,
      to: pass.to,
      ...("contentId" in gap ? { contentId: gap.contentId } : {}),
    });
    ctx.logger.info("gap filled from Microsoft Graph", { ...which, from: pass.from, to: pass.to });
  }
  return result;
}
