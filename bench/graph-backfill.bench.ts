/**
 * Issue 22, "Graph source at scale": a 180-day backfill through Microsoft Graph's audit log query
 * API on the emulator's simulated clock, where each query runs for minutes (5 on average, 2.5 to
 * 7.5 by query) and the runtime's polls and waits sleep on that clock, so hours of queries take
 * seconds of real time. The runtime runs in-process at its production settings (10 queries in
 * flight, polls up to every 15 s), with Azurite for storage.
 *
 * Measured in the same run, each backfill against a fresh emulator and fresh storage:
 * - the simulated time over its lower bound, ceil(180 / 10) query times of the run's mean;
 * - the simulated time over the same backfill one query at a time (what the source did before);
 * - the submissions beyond the runtime's budget in any 24 hours, and those Graph refused for its
 *   own 24-hour limit (the emulator's baseline 200).
 * The budget is set to 190 for this: a 180-day backfill in one go takes 180 submissions, more than
 * the default share of 150 leaves (which would finish the last 30 days the next day).
 */
import { Agent } from "node:https";
import { startAzurite } from "../demo/azurite";
import { runtimeEnvFor } from "../demo/runtime-env";
import { SimulatedSleep, startEmulator, type GraphCounters } from "../emulator/index";
import { loadConfig, secretValues } from "../sync-runtime/src/app/config";
import { createRuntime } from "../sync-runtime/src/app/runtime";
import { createLogger } from "../sync-runtime/src/core/log";
import { atMost, type Bench } from "./result";

const DAY = 86_400_000;
const DAYS = 180;
const CONCURRENCY = 10;
const BUDGET = 190;
const START = new Date("2026-10-01T00:00:00Z");

interface Run {
  simulatedMs: number;
  realMs: number;
  windows: number;
  graph: GraphCounters;
  submittedAt: number[];
}

async function backfill(concurrency: number): Promise<Run> {
  const [emu, azurite] = await Promise.all([
    startEmulator({
      seed: "graph-bench",
      startTime: START,
      // Few records a day: the figure is about queries, not storage.
      tenant: { days: DAYS + 1, futureDays: 0, apps: 4, users: 5, launchesPerDay: 3, deletes: 1 },
      // Polls do not move a query on, only the clock; requests per minute are not the subject.
      graph: { queryRunMs: 5 * 60_000, pollProgressMs: 0, requestsPerMinute: 1_000_000 },
    }),
    startAzurite(),
  ]);
  const agent = new Agent({ ca: emu.caCertPem, keepAlive: true });
  try {
    // Every record of the last day has arrived (at most 12 hours late).
    emu.clock.set(new Date(START.getTime() + 13 * 3_600_000));
    let running = 0;
    const sim = new SimulatedSleep(emu.clock, () => running);
    const config = loadConfig({
      ...runtimeEnvFor(emu),
      AUDIT_STORAGE_CONNECTION_STRING: azurite.connectionString,
      AUDIT_SOURCE: "graph",
      AUDIT_GRAPH_QUERY_CONCURRENCY: String(concurrency),
      AUDIT_GRAPH_DAILY_SUBMISSIONS: String(BUDGET),
      // The emulator answers at once; the runtime's own request rate must not be what limits.
      AUDIT_RATE_LIMIT_PER_MINUTE: "100000",
    });
    const runtime = createRuntime(config, {
      agent,
      now: () => emu.clock.now(),
      logger: createLogger({ level: "error", secrets: secretValues(config) }),
      graphPolling: { sleep: sim.sleep },
    });
    const began = emu.clock.now().getTime();
    const started = performance.now();
    const result = await runtime.syncGraph({
      from: new Date(START.getTime() - DAYS * DAY),
      to: START,
      onProgress: (s) => {
        running = s.days?.running ?? 0;
        sim.poke();
      },
    });
    const graph = emu.stats().graph;
    if (result.windows !== DAYS || graph.queriesSubmitted !== DAYS)
      throw new Error(
        `the backfill had ${result.windows} windows and ${graph.queriesSubmitted} queries, not ${DAYS}`,
      );
    return {
      simulatedMs: emu.clock.now().getTime() - began,
      realMs: performance.now() - started,
      windows: result.windows,
      graph,
      submittedAt: emu.graphSubmissions().map((q) => Date.parse(q.submittedAt)),
    };
  } finally {
    agent.destroy();
    await Promise.all([emu.stop(), azurite.stop()]);
  }
}

/** The most submissions in any 24 hours beyond the budget (0 when it was kept). */
function beyondBudget(times: number[]): number {
  const most = Math.max(
    0,
    ...times.map((at) => times.filter((t) => t > at - DAY && t <= at).length),
  );
  return Math.max(0, most - BUDGET);
}

const bench: Bench = async () => {
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const minutes = (ms: number) => `${(ms / 60_000).toFixed(0)} min`;
  const parallel = await backfill(CONCURRENCY);
  say(
    `graph backfill, ${CONCURRENCY} in flight: ${minutes(parallel.simulatedMs)} simulated (${(parallel.realMs / 1000).toFixed(1)} s real), peak ${parallel.graph.peakQueriesInFlight} queries in flight, ${parallel.graph.queriesRefused} refused`,
  );
  const sequential = await backfill(1);
  say(
    `graph backfill, one at a time: ${minutes(sequential.simulatedMs)} simulated (${(sequential.realMs / 1000).toFixed(1)} s real)`,
  );
  const meanMs = parallel.graph.queryRunMsTotal / parallel.graph.queriesSubmitted;
  const lowerBoundMs = Math.ceil(DAYS / CONCURRENCY) * meanMs;
  say(
    `lower bound ceil(${DAYS} / ${CONCURRENCY}) x ${minutes(meanMs)} mean query time = ${minutes(lowerBoundMs)}`,
  );
  const beyond =
    beyondBudget(parallel.submittedAt) +
    beyondBudget(sequential.submittedAt) +
    parallel.graph.queriesRefusedPer24Hours +
    sequential.graph.queriesRefusedPer24Hours;
  return [
    atMost(
      "graph 180-day backfill simulated time / ceil(180 / concurrency) x mean query time",
      parallel.simulatedMs / lowerBoundMs,
      1.3,
    ),
    atMost(
      "graph 180-day backfill simulated time / one query at a time",
      parallel.simulatedMs / sequential.simulatedMs,
      0.15,
    ),
    atMost("graph submissions beyond the budget in 24 hours", beyond, 0),
  ];
};

export default bench;
