/**
 * Issue 12, "freshness": `serve` on the emulator's simulated clock, and for every launch record
 * the time from it becoming listable (emulator ground truth) to it being counted in the report
 * file (`latest/usage-report.json` in the reports container); p95 against the pass interval + 60 s.
 *
 * Design:
 * - The emulator's simulated clock runs SPEED_UP times faster than real time, set by a ticker
 *   here; the runtime's now() is that clock (RuntimeDeps.now, as the scenario tests do), so the
 *   window planning, checkpoints and report window all live in simulated time. serve() waits in
 *   real time, so the simulated pass interval is given as `AUDIT_SYNC_INTERVAL_MINUTES /
 *   SPEED_UP` real minutes. All latencies are in simulated seconds. The work a pass does (listing,
 *   blobs, table writes, rollups, report upload) takes real time, so it counts SPEED_UP-fold in
 *   the figure: the figure is conservative against a deployment, where that work is measured 1:1.
 * - Listable: groundTruth(window, { asOf: t }) counts the launches a client could have listed by
 *   t; bisected on whole simulated seconds, each increase of an app's count is that many records
 *   becoming listable at t (contentCreated is on whole seconds; a late listing time is taken at
 *   the next whole second, under 1 s late).
 * - Counted: the bench polls the report file; every new version's per-app launches, stamped with
 *   the simulated time it was seen.
 * - Records are matched first in, first out per app: the k-th launch of an app to become listable
 *   is counted by the first report whose count for the app reaches k (exact when the runtime
 *   counts in listing order, as one listing per pass does; the mean is exact in any case). A
 *   report counting more than is listable would make that meaningless, so it fails the bench.
 * - Steady state: the records that become listable in MEASURED_INTERVALS whole intervals after
 *   the first report file (the first pass is the start-up backfill; whole intervals weigh every
 *   phase of the schedule alike); the run goes on interval + 60 s past them, and one never counted
 *   by then counts with its time so far (at least the target: a miss).
 */
import { Agent } from "node:https";
import { startAzurite } from "../demo/azurite";
import { runtimeEnvFor } from "../demo/runtime-env";
import { startEmulator, type RunningEmulator } from "../emulator/index";
import { loadConfig } from "../sync-runtime/src/app/config";
import { createRuntime, type Runtime } from "../sync-runtime/src/app/runtime";
import { reportBlobName, serve } from "../sync-runtime/src/app/serve";
import { createLogger } from "../sync-runtime/src/core/log";
import type { UsageReport } from "../sync-runtime/src/domain/usage-report";
import { atMost, type Bench } from "./result";

/** One simulated minute every 6 real seconds. */
const SPEED_UP = 10;
const INTERVAL_MINUTES = 5;
const INTERVAL_MS = INTERVAL_MINUTES * 60_000;
const ALLOWANCE_MS = 60_000;
/** Records listable in this many intervals after the first report file are measured. */
const MEASURED_INTERVALS = 2;
/** A Wednesday afternoon (UTC): launches cluster in working hours. */
const START = Date.parse("2026-06-03T14:00:00Z");

interface SeenReport {
  atMs: number;
  from: string;
  launches: Map<string, number>;
}

interface Pass {
  startedAtMs: number;
  realMs: number;
}

/** Keeps the emulator's clock at START + SPEED_UP × real time elapsed; returns stop. */
function driveClock(emulator: RunningEmulator): () => void {
  const realStart = performance.now();
  const tick = () =>
    emulator.clock.set(new Date(START + (performance.now() - realStart) * SPEED_UP));
  tick();
  const timer = setInterval(tick, 10);
  return () => clearInterval(timer);
}

/** Every new version of the JSON report file, with the simulated time it was first seen. */
function watchReports(runtime: Runtime, emulator: RunningEmulator, signal: AbortSignal) {
  const seen: SeenReport[] = [];
  const blob = runtime.storage.reports.getBlobClient(reportBlobName("json"));
  const done = (async () => {
    let etag: string | undefined;
    while (!signal.aborted) {
      const props = await blob.getProperties().catch(() => undefined);
      if (props?.etag && props.etag !== etag) {
        const body = await blob.downloadToBuffer().catch(() => undefined);
        if (body) {
          const atMs = emulator.clock.now().getTime();
          etag = props.etag;
          const report = JSON.parse(body.toString("utf8")) as UsageReport;
          seen.push({
            atMs,
            from: report.from,
            launches: new Map(report.apps.map((a) => [a.appId, a.launches])),
          });
        }
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return { seen, done };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
}

const bench: Bench = async () => {
  const [emulator, azurite] = await Promise.all([
    startEmulator({
      seed: "freshness",
      startTime: new Date(START),
      // 2.4 hours of history (the start-up backfill), then the run; launches every few seconds.
      tenant: { days: 0.1, futureDays: 0.05, apps: 25, users: 300, launchesPerDay: 40_000 },
      content: { blobIntervalMinutes: 1 },
    }),
    startAzurite(),
  ]);
  const stopClock = driveClock(emulator);
  const agent = new Agent({ ca: emulator.caCertPem, keepAlive: true });
  try {
    const config = loadConfig({
      ...runtimeEnvFor(emulator),
      AUDIT_STORAGE_CONNECTION_STRING: azurite.connectionString,
      AUDIT_SYNC_INTERVAL_MINUTES: String(INTERVAL_MINUTES),
    });
    const logs: string[] = [];
    const runtime = createRuntime(config, {
      agent,
      now: () => emulator.clock.now(),
      logger: createLogger({ level: "info", write: (l) => logs.push(l) }),
    });
    // The passes serve runs, timed (the Runtime's methods are closures: a copy delegates).
    const passes: Pass[] = [];
    const timed: Runtime = {
      ...runtime,
      sync: async (request) => {
        const pass = { startedAtMs: emulator.clock.now().getTime(), realMs: NaN };
        const t0 = performance.now();
        try {
          return await runtime.sync(request);
        } finally {
          pass.realMs = performance.now() - t0;
          passes.push(pass);
        }
      },
    };

    const stop = new AbortController();
    const watcher = watchReports(runtime, emulator, stop.signal);
    const service = await serve(timed, {
      port: 0,
      intervalMs: config.syncIntervalMs / SPEED_UP,
      reportDays: config.reportDays,
      staleDays: config.reportStaleDays,
      signal: stop.signal,
    });
    // Measured: whole intervals from the first report (every phase of the schedule equally),
    // then each record's interval + 60 s to be counted.
    while (watcher.seen.length === 0) await new Promise((r) => setTimeout(r, 50));
    const startMs = watcher.seen[0]!.atMs;
    const cutoffMs = startMs + MEASURED_INTERVALS * INTERVAL_MS;
    const endMs = cutoffMs + INTERVAL_MS + ALLOWANCE_MS;
    while (emulator.clock.now().getTime() < endMs) await new Promise((r) => setTimeout(r, 50));
    stop.abort();
    await Promise.all([service.done, watcher.done]);
    const failed = logs.filter((l) => JSON.parse(l).level === "error");
    if (failed.length > 0) throw new Error(`the service logged errors:\n${failed.join("\n")}`);

    const reports = watcher.seen;
    if (reports.length < 3) throw new Error(`only ${reports.length} report files were written`);
    const from = reports[0]!.from;
    if (reports.some((r) => r.from !== from))
      throw new Error("the report window's start moved during the run");
    return measure(emulator, reports, passes, { startMs, cutoffMs, endMs });
  } finally {
    stopClock();
    agent.destroy();
    await Promise.all([emulator.stop(), azurite.stop()]);
  }
};

function measure(
  emulator: RunningEmulator,
  reports: SeenReport[],
  passes: Pass[],
  { startMs, cutoffMs, endMs }: { startMs: number; cutoffMs: number; endMs: number },
) {
  const window = { from: new Date(reports[0]!.from), to: new Date(endMs + 86_400_000) };
  const listable = (asOfMs: number) =>
    new Map(
      emulator
        .groundTruth(window, { asOf: new Date(asOfMs) })
        .apps.map((a) => [a.appId, a.launches] as const),
    );
  for (const r of reports) {
    for (const [app, n] of r.launches) {
      const truth = listable(r.atMs).get(app) ?? 0;
      if (n > truth)
        throw new Error(`report at ${new Date(r.atMs).toISOString()}: ${app} ${n} > ${truth}`);
    }
  }

  // When records become listable: bisection on whole simulated seconds, over the total count,
  // which only grows (as each app's count does).
  const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  const steps: { atMs: number; before: Map<string, number>; after: Map<string, number> }[] = [];
  const find = (a: number, ca: Map<string, number>, b: number, cb: Map<string, number>) => {
    if (total(ca) === total(cb)) return;
    if (b - a <= 1000) {
      steps.push({ atMs: b, before: ca, after: cb });
      return;
    }
    const m = a + Math.floor((b - a) / 2000) * 1000;
    const cm = listable(m);
    find(a, ca, m, cm);
    find(m, cm, b, cb);
  };
  const first = Math.floor(startMs / 1000) * 1000;
  find(first, listable(first), cutoffMs, listable(cutoffMs));

  const latencies: number[] = [];
  const waits: number[] = [];
  let uncounted = 0;
  for (const { atMs, before, after } of steps) {
    for (const [app, n] of after) {
      for (let k = (before.get(app) ?? 0) + 1; k <= n; k++) {
        const counted = reports.find((r) => (r.launches.get(app) ?? 0) >= k);
        if (!counted) uncounted++;
        latencies.push((counted?.atMs ?? endMs) - atMs);
        const pass = passes.find((p) => p.startedAtMs >= atMs);
        if (pass) waits.push(pass.startedAtMs - atMs);
      }
    }
  }
  if (latencies.length < 100) throw new Error(`only ${latencies.length} records measured`);
  latencies.sort((a, b) => a - b);
  const p95 = percentile(latencies, 0.95);
  const s = (ms: number) => `${(ms / 1000).toFixed(0)} s`;
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  console.log(
    `simulated clock ${SPEED_UP}x, pass interval ${INTERVAL_MINUTES} min simulated (${
      INTERVAL_MS / SPEED_UP / 1000
    } s real), ${passes.length} passes, ${reports.length} report files`,
  );
  console.log(
    `pass real time: ${passes.map((p) => (p.realMs / 1000).toFixed(1)).join(", ")} s (the first is the backfill)`,
  );
  console.log(
    `${latencies.length} launches listable in the measured ${s(cutoffMs - startMs)}, ${uncounted} never counted; latency (simulated): median ${s(
      percentile(latencies, 0.5),
    )}, p95 ${s(p95)}, max ${s(latencies[latencies.length - 1]!)}; mean wait for the next pass ${s(
      mean(waits),
    )}, mean listable-to-counted ${s(mean(latencies))}`,
  );
  return [atMost("freshness p95 / (pass interval + 60 s)", p95 / (INTERVAL_MS + ALLOWANCE_MS), 1)];
}

export default bench;
