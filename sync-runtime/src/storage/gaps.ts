import type { TableClient } from "@azure/data-tables";
import type { ContentItem } from "../domain/content";
import { tableKey } from "./keys";
import type { Interval } from "../domain/windows";
import type { StorageOptions } from "./options";

/** An interval whose content can no longer be listed (the checkpoint was older than 7 days). */
export interface IntervalGap {
  contentType: string;
  from: string;
  to: string;
  detectedAt: string;
  /** When the interval was read again from another source (Microsoft Graph), if it was. */
  filledAt?: string;
  filledBy?: string;
}

/**
 * Why a listed content blob's records are lost: "expired", the API no longer serves it
 * (AF20052); "refused", its contentUri pointed off the API's origin, so it was never fetched;
 * "quarantined", what the API served cannot be read (kept in the quarantine container).
 */
export type ContentLoss = "expired" | "refused" | "quarantined";

/** One listed content blob whose records are lost. */
export interface ExpiredContentGap {
  contentType: string;
  contentId: string;
  contentCreated: string;
  contentExpiration: string;
  reason: ContentLoss;
  /** What was wrong, and for a quarantined blob where its bytes are kept. */
  detail?: string;
  detectedAt: string;
  filledAt?: string;
  filledBy?: string;
}

/**
 * A window whose listing ended early at a NextPageUri that could not be followed: what it listed
 * was synced, what a later page would have listed may be missing.
 */
export interface ListingGap {
  contentType: string;
  from: string;
  to: string;
  reason: "listingCut";
  detail: string;
  detectedAt: string;
  filledAt?: string;
  filledBy?: string;
}

export type GapRecord = IntervalGap | ExpiredContentGap | ListingGap;

type GapEntity = Partial<
  Omit<IntervalGap & ExpiredContentGap, "reason"> & { reason: ContentLoss | "listingCut" }
>;

/**
 * What the runtime could no longer fetch: intervals older than the API's 7 days when it got to
 * them, and single blobs that expired between listing and download. Keyed by content type and
 * start (or content id), so detecting the same loss again updates one row.
 */
export class Gaps {
  constructor(private readonly table: TableClient) {}

  async record(
    contentType: string,
    gap: Interval,
    now: Date,
    options: StorageOptions = {},
  ): Promise<void> {
    await this.table.upsertEntity<IntervalGap>(
      {
        partitionKey: tableKey(contentType),
        rowKey: gap.from.toISOString(),
        contentType,
        from: gap.from.toISOString(),
        to: gap.to.toISOString(),
        detectedAt: now.toISOString(),
      },
      "Replace",
      { abortSignal: options.abortSignal },
    );
  }

  async recordListingCut(
    contentType: string,
    window: Interval,
    detail: string,
    now: Date,
    options: StorageOptions = {},
  ): Promise<void> {
    await this.table.upsertEntity<ListingGap>(
      {
        partitionKey: tableKey(contentType),
        rowKey: `listing:${window.from.toISOString()}`,
        contentType,
        from: window.from.toISOString(),
        to: window.to.toISOString(),
        reason: "listingCut",
        detail,
        detectedAt: now.toISOString(),
      },
      "Replace",
      { abortSignal: options.abortSignal },
    );
  }

  async recordLostContent(
    item: ContentItem,
    reason: ContentLoss,
    now: Date,
    detail?: string,
    options: StorageOptions = {},
  ): Promise<void> {
    await this.table.upsertEntity<ExpiredContentGap>(
      {
        partitionKey: tableKey(item.contentType),
        // Interval rows are keyed by an ISO time (digits first), so the prefix cannot collide.
        rowKey: `content:${tableKey(item.contentId)}`,
        contentType: item.contentType,
        contentId: item.contentId,
        contentCreated: item.contentCreated,
        contentExpiration: item.contentExpiration,
        reason,
        ...(detail !== undefined ? { detail } : {}),
        detectedAt: now.toISOString(),
      },
      "Replace",
      { abortSignal: options.abortSignal },
    );
  }

  /**
   * Marks a loss as recovered from another source. The row stays (the Management API did lose
   * it); a re-detection of the same loss replaces the row and clears the mark, as it should.
   */
  async markFilled(
    gap: GapRecord,
    by: string,
    now: Date,
    options: StorageOptions = {},
  ): Promise<void> {
    await this.table.upsertEntity(
      {
        partitionKey: tableKey(gap.contentType),
        rowKey: rowKeyOf(gap),
        filledAt: now.toISOString(),
        filledBy: by,
      },
      "Merge",
      { abortSignal: options.abortSignal },
    );
  }

  /** Every recorded loss, oldest first (intervals by start, blobs by contentCreated). */
  async list(options: StorageOptions = {}): Promise<GapRecord[]> {
    const out: GapRecord[] = [];
    for await (const e of this.table.listEntities<GapEntity>({
      abortSignal: options.abortSignal,
    })) {
      out.push(
        e.contentId !== undefined
          ? {
              contentType: e.contentType!,
              contentId: e.contentId,
              contentCreated: e.contentCreated!,
              contentExpiration: e.contentExpiration!,
              // Rows written before refusals existed were all expiries.
              reason: (e.reason as ContentLoss | undefined) ?? "expired",
              ...(e.detail !== undefined ? { detail: e.detail } : {}),
              detectedAt: e.detectedAt!,
              ...filled(e),
            }
          : e.reason === "listingCut"
            ? {
                contentType: e.contentType!,
                from: e.from!,
                to: e.to!,
                reason: "listingCut",
                detail: e.detail ?? "",
                detectedAt: e.detectedAt!,
                ...filled(e),
              }
            : {
                contentType: e.contentType!,
                from: e.from!,
                to: e.to!,
                detectedAt: e.detectedAt!,
                ...filled(e),
              },
      );
    }
    const start = (g: GapRecord) => ("from" in g ? g.from : g.contentCreated);
    return out.sort((a, b) => (start(a) < start(b) ? -1 : start(a) > start(b) ? 1 : 0));
  }
}

/** The row of a gap, as record/recordListingCut/recordLostContent key it. */
function rowKeyOf(gap: GapRecord): string {
  if ("contentId" in gap) return `content:${tableKey(gap.contentId)}`;
  return "reason" in gap ? `listing:${gap.from}` : gap.from;
}

function filled(e: GapEntity): { filledAt?: string; filledBy?: string } {
  return e.filledAt !== undefined ? { filledAt: e.filledAt, filledBy: e.filledBy } : {};
}
