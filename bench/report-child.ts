/**
 * One report measurement in its own process, so its peak RSS is the report's alone. Reads the
 * storage account of AUDIT_STORAGE_CONNECTION_STRING; argv: mode ("rollups": the runtime's
 * report; "events": today's report before rollups, every launch read and aggregated), the
 * window's from and to (ISO). Prints one JSON line: ms (median of 5), maxRssMiB, apps,
 * launches, daysFromEvents.
 */
import { TableClient } from "@azure/data-tables";
import { readUsage } from "../sync-runtime/src/app/usage-report";
import { TABLES } from "../sync-runtime/contract";
import { aggregateUsage, daysOf, type EventRow } from "../sync-runtime/src/domain/usage";
import type { UsageReport } from "../sync-runtime/src/domain/usage-report";
import { EventsTable } from "../sync-runtime/src/storage/events";
import { RollupsTable } from "../sync-runtime/src/storage/rollups";

const [mode, fromIso, toIso] = process.argv.slice(2);
const connection = process.env.AUDIT_STORAGE_CONNECTION_STRING!;
const table = (name: string) =>
  TableClient.fromConnectionString(connection, name, { allowInsecureConnection: true });
const store = {
  launches: new EventsTable(table(TABLES.launches), "launch"),
  deletes: new EventsTable(table(TABLES.deletes), "delete"),
  rollups: new RollupsTable(table(TABLES.rollups)),
};
const window = { from: new Date(fromIso!), to: new Date(toIso!) };

async function once(): Promise<{ report: UsageReport; daysFromEvents: string[] }> {
  if (mode === "rollups") return readUsage(store, window);
  // The report as it was before rollups (sync-runtime/src/app/usage-report.ts at 2e569b8).
  const days = daysOf(window.from, window.to);
  const rows: EventRow[] = [];
  for (const t of [store.launches, store.deletes]) {
    for await (const r of t.read(days[0]!, days[days.length - 1]!)) rows.push(r);
  }
  return { report: aggregateUsage(rows, window), daysFromEvents: days };
}

const times: number[] = [];
let last: Awaited<ReturnType<typeof once>> | undefined;
for (let i = 0; i < 5; i++) {
  const t0 = performance.now();
  last = await once();
  times.push(performance.now() - t0);
}
times.sort((a, b) => a - b);
process.stdout.write(
  JSON.stringify({
    ms: times[2],
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    apps: last!.report.apps.length,
    launches: last!.report.apps.reduce((n, a) => n + a.launches, 0),
    daysFromEvents: last!.daysFromEvents,
  }) + "\n",
);
