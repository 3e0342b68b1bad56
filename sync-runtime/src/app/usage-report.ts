import { aggregateUsage, daysOf } from "../domain/usage";
import type { UsageReport } from "../domain/usage-report";
import type { EventsTable } from "../storage/events";

/** The usage report for [from, to), read from the launches and deletes tables. */
export async function buildUsageReport(
  tables: { launches: EventsTable; deletes: EventsTable },
  window: { from: Date; to: Date },
): Promise<UsageReport> {
  const days = daysOf(window.from, window.to);
  if (days.length === 0) return aggregateUsage([], window);
  const first = days[0];
  const last = days[days.length - 1];
  const rows = [];
  for (const table of [tables.launches, tables.deletes]) {
    for await (const r of table.read(first, last)) rows.push(r);
  }
  return aggregateUsage(rows, window);
}
