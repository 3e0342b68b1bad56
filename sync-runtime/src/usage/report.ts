import type { TableClient } from "@azure/data-tables";
import type { UsageReport } from "../report/usage-report";
import { readEvents } from "../sinks/events";
import { aggregateUsage, daysOf } from "./aggregate";

/** The usage report for [from, to), read from the launches and deletes tables. */
export async function buildUsageReport(
  tables: { launches: TableClient; deletes: TableClient },
  window: { from: Date; to: Date },
): Promise<UsageReport> {
  const days = daysOf(window.from, window.to);
  if (days.length === 0) return aggregateUsage([], window);
  const first = days[0];
  const last = days[days.length - 1];
  const rows = [];
  for await (const r of readEvents(tables.launches, "launch", first, last)) rows.push(r);
  for await (const r of readEvents(tables.deletes, "delete", first, last)) rows.push(r);
  return aggregateUsage(rows, window);
}
