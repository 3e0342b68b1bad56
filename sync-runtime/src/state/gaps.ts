import type { TableClient } from "@azure/data-tables";
import { tableKey } from "../records/dedupe";
import type { Interval } from "../sync/windows";

export interface GapRecord {
  contentType: string;
  from: string;
  to: string;
  detectedAt: string;
}

/**
 * Intervals whose content can no longer be fetched (older than the API's 7 days when the runtime
 * got to them). Keyed by content type and start, so re-detecting the same gap updates one row.
 */
export class Gaps {
  constructor(private readonly table: TableClient) {}

  async record(contentType: string, gap: Interval, now: Date): Promise<void> {
    await this.table.upsertEntity<GapRecord>(
      {
        partitionKey: tableKey(contentType),
        rowKey: gap.from.toISOString(),
        contentType,
        from: gap.from.toISOString(),
        to: gap.to.toISOString(),
        detectedAt: now.toISOString(),
      },
      "Replace",
    );
  }

  async list(): Promise<GapRecord[]> {
    const out: GapRecord[] = [];
    for await (const e of this.table.listEntities<GapRecord>()) {
      out.push({ contentType: e.contentType, from: e.from, to: e.to, detectedAt: e.detectedAt });
    }
    return out.sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : 0));
  }
}
