import type { TableClient } from "@azure/data-tables";
import type { ContentItem } from "../domain/content";
import type { BlobStats } from "../domain/tally";
import type { ContentLoss } from "./gaps";
import { tableKey } from "./keys";
import { getEntityOrUndefined } from "./entity";
import type { StorageOptions } from "./options";

interface ContentIdEntity extends Partial<BlobStats> {
  contentId: string;
  contentCreated: string;
  status: "done" | ContentLoss;
  archiveBlob: string;
  processedAt: string;
}

/**
 * Content blobs already processed, by content type and content id. Written last, after the
 * archive and the event tables confirmed, so a blob interrupted half-way is processed again.
 * Rows are kept (not expired): the API lists content for 7 days, and the rows are small.
 */
export class ContentIds {
  constructor(private readonly table: TableClient) {}

  async isProcessed(
    contentType: string,
    contentId: string,
    options: StorageOptions = {},
  ): Promise<boolean> {
    const row = await getEntityOrUndefined(
      this.table,
      tableKey(contentType),
      tableKey(contentId),
      options,
    );
    return row !== undefined;
  }

  async markProcessed(
    item: ContentItem,
    result: { status: "done" | ContentLoss; archiveBlob: string; stats?: BlobStats },
    now: Date,
    options: StorageOptions = {},
  ): Promise<void> {
    await this.table.upsertEntity<ContentIdEntity>(
      {
        partitionKey: tableKey(item.contentType),
        rowKey: tableKey(item.contentId),
        contentId: item.contentId,
        contentCreated: item.contentCreated,
        status: result.status,
        archiveBlob: result.archiveBlob,
        processedAt: now.toISOString(),
        ...result.stats,
      },
      "Replace",
      { abortSignal: options.abortSignal },
    );
  }
}
