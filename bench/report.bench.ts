/**
 * Issue 12, "reports that cost the same for any tenant size": the 7-day report over 1,000,000
 * stored launches against the same report over 10,000 (same tenant: 200 apps, 20,000 users),
 * each measured in its own child process (median of 5 reports, peak RSS of that process), on
 * Azurite. Seeding is described in bench/report-seed.ts. `BENCH_BEFORE=1` also prints the
 * report as it was before rollups (every launch read) over 10,000 and 100,000 launches.
 */
import { execFile } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { TABLES } from "../sync-runtime/contract";
import { openStorage } from "../sync-runtime/src/storage/account";
import { EventsTable } from "../sync-runtime/src/storage/events";
import { RollupsTable } from "../sync-runtime/src/storage/rollups";
import { startAzurite } from "../demo/azurite";
import { atMost, type Bench, type BenchResult } from "./result";
import { seedWeek } from "./report-seed";

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const FIRST_DAY = Date.parse("2026-06-01T00:00:00Z");
const WINDOW = { from: new Date(FIRST_DAY), to: new Date(FIRST_DAY + 7 * 86_400_000) };

interface Measured {
  ms: number;
  maxRssMiB: number;
  apps: number;
  launches: number;
  daysFromEvents: string[];
}

const REPORT_RUNS = 5;

/** Seeds a fresh Azurite with `launches` launches and measures one report mode on it. */
async function measure(
  launches: number,
  mode: "rollups" | "events",
  withEvents: boolean,
): Promise<Measured> {
  const azurite = await startAzurite();
  try {
    const storage = openStorage({
      kind: "connection-string",
      connectionString: azurite.connectionString,
    });
    await storage.ensure();
    await seedWeek(
      {
        rollups: new RollupsTable(storage.table(TABLES.rollups)),
        launches: withEvents
          ? new EventsTable(storage.table(TABLES.launches), "launch")
          : undefined,
      },
      FIRST_DAY,
      launches,
    );
    // The report takes ~0.1 s, where one sample on a noisy machine can be 50% off: the fastest of
    // REPORT_RUNS counts (noise only ever slows a run), and the highest peak RSS.
    const runs: Measured[] = [];
    for (let i = 0; i < REPORT_RUNS; i++) {
      const { stdout } = await run(
        process.execPath,
        [
          "--import",
          "tsx",
          join(here, "report-child.ts"),
          mode,
          WINDOW.from.toISOString(),
          WINDOW.to.toISOString(),
        ],
        { env: { ...process.env, AUDIT_STORAGE_CONNECTION_STRING: azurite.connectionString } },
      );
      runs.push(JSON.parse(stdout) as Measured);
    }
    const m: Measured = {
      ...runs[0],
      ms: Math.min(...runs.map((r) => r.ms)),
      maxRssMiB: Math.max(...runs.map((r) => r.maxRssMiB)),
    };
    // The figures mean something only if every run saw every launch, and from the rollups.
    for (const r of runs) {
      if (r.launches !== launches) throw new Error(`report counted ${r.launches} of ${launches}`);
      if (mode === "rollups" && r.daysFromEvents.length > 0)
        throw new Error(`the report read events for ${r.daysFromEvents.join(", ")}`);
    }
    process.stderr.write(
      `report (${mode}) over ${launches} launches: ${m.ms.toFixed(0)} ms, ${m.maxRssMiB.toFixed(0)} MiB peak RSS, ${m.apps} apps\n`,
    );
    return m;
  } finally {
    await azurite.stop();
  }
}

const bench: Bench = async () => {
  if (process.env.BENCH_BEFORE === "1") {
    await measure(10_000, "events", true);
    await measure(100_000, "events", true);
  }
  const small = await measure(10_000, "rollups", true);
  // Events for a million launches would take Azurite many minutes to store and the report never
  // reads them (checked above): only their rollups are stored.
  const large = await measure(1_000_000, "rollups", false);
  const results: BenchResult[] = [
    atMost("report time: 1,000,000 launches / 10,000", large.ms / small.ms, 1.5),
    atMost("report peak RSS over 1,000,000 launches (MiB)", large.maxRssMiB, 256),
  ];
  return results;
};

export default bench;

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  for (const r of await bench()) console.log(JSON.stringify(r));
}
