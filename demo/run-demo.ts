/**
 * The embedded demo: a synthetic tenant in the emulator, Azurite for storage, and the real sync
 * runtime driven through its command line, exactly as in production except for the endpoints.
 * It backfills the last 7 days, writes the report files, and checks the figures against the
 * emulator's ground truth. Everything it starts is stopped again, also when interrupted.
 */
import { rmSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import {
  startEmulator,
  type ContentOptions,
  type InactiveApp,
  type RunningEmulator,
  type TenantOptions,
  type TruthWindow,
  type UsageReport,
} from "../emulator/index";
import { startAzurite, type RunningAzurite } from "./azurite";
import { runtimeEnvFor } from "./runtime-env";
import { completeWindow, inactiveDifferences, reportDifferences } from "./comparison";
import { compareCoeTables, type CoeComparison } from "./coe-tables";
import { REPO_ROOT, RuntimeCli } from "./runtime-cli";
import type { RuntimeCredential } from "../sync-runtime/contract";

/** A tenant worth looking at that still backfills in well under a minute on 2 cores. */
export const DEMO_TENANT: TenantOptions = {
  apps: 40,
  environments: 4,
  users: 400,
  // Three weeks, of which the API still serves the last 7 days (as for a real tenant).
  days: 21,
  // The clock is real: a day of future activity is plenty for a run of a minute.
  futureDays: 1,
  launchesPerDay: 1500,
  // Spread over the timeline; with the default seed four of them fall in the last 7 days.
  deletes: 6,
  // Nobody launches them any more (from 4-6 days before the demo starts): the stale apps.
  abandonedApps: 3,
};

/**
 * "Not launched for N days" in the demo. The runtime has only seen the 7 days it backfilled (all
 * the API serves), so N must be well below 7 for the list to hold anything: the abandoned apps.
 */
export const DEMO_STALE_DAYS = 3;

/*
 * Realism stays at the emulator's defaults (both schemas, late records, late listings,
 * duplicates, noise, unparsed records). Only blobs are made every 20 minutes instead of 10: the
 * runtime keeps its production request rate (90% of 2,000/min), and this keeps the backfill of a
 * week under a thousand requests.
 */
export const DEMO_CONTENT: ContentOptions = { blobIntervalMinutes: 20 };

export interface DemoOptions {
  /** Seed of the synthetic tenant. Default "coe-demo". */
  seed?: string;
  /** Overrides of DEMO_TENANT (size of the tenant). */
  tenant?: TenantOptions;
  /** Overrides of DEMO_CONTENT. */
  content?: ContentOptions;
  /** Extra environment of the runtime's commands (e.g. AUDIT_BLOB_CONCURRENCY). */
  runtimeEnv?: Record<string, string>;
  /** A runtime bundle to run instead of the source (RuntimeCliOptions.bundle). Default none. */
  runtimeBundle?: string;
  /** "Not launched for N days" of the reports (whole days, 1-6). Default DEMO_STALE_DAYS. */
  staleDays?: number;
  /** Where the report files go. Default <repository>/out. */
  outDir?: string;
  /** Print nothing; the runtime's stderr is captured instead of shown. Default false. */
  quiet?: boolean;
  /** Where the demo's own lines go. Default process.stdout. */
  write?: (text: string) => void;
  /** Also run the emulator's Dataverse environment and compare its CoE tables. Default false. */
  dataverse?: boolean;
  /**
   * Read the tenant through Microsoft Graph's audit log queries (AUDIT_SOURCE=graph) instead of
   * the Management Activity API: its whole history, many queries in flight. Default false.
   */
  graph?: boolean;
  /**
   * How the runtime signs in: "federated" (default, as a deployed stack does: the emulator's
   * managed identity, no secret anywhere) or "secret" (the app's client secret).
   */
  credential?: RuntimeCredential;
  /** Aborting stops the children, the emulator and Azurite; runDemo then throws DemoInterrupted. */
  signal?: AbortSignal;
}

export interface DemoFiles {
  html: string;
  csv: string;
  json: string;
}

export interface DemoResult {
  /** The compared window (ISO 8601 UTC). */
  window: { from: string; to: string };
  /** The runtime's `once` summary (one entry per content type; none with `graph`). */
  backfill: BackfillSummary[];
  /** With `graph`: the runtime's `once --source graph` summary and its last progress line. */
  graph?: { backfill: GraphBackfillSummary; progress?: string };
  /** The runtime's JSON report of the window, read back from its file. */
  report: UsageReport;
  /** The emulator's ground truth of the same window, with launches per day. */
  groundTruth: UsageReport;
  /**
   * Field-by-field differences between the two, then between the report's inactiveApps and the
   * emulator's expectation; empty when they all agree.
   */
  differences: string[];
  /** With `dataverse`: the CoE tables compared with the report (its differences are in `differences`). */
  coe?: CoeComparison;
  /** The report's all-time inactive apps and what the emulator expects for them. */
  inactive: { staleDays: number; reported: InactiveApp[]; expected: InactiveApp[] };
  files: DemoFiles;
  /** The table the runtime printed. */
  table: string;
  /** How the runtime signed in, and how many token requests carried a client secret. */
  auth: { credential: RuntimeCredential; clientSecretsSeen: number; managedIdentityTokens: number };
  /** What was listening while the demo ran (all closed when runDemo returns). */
  endpoints: { emulator: string; blob: string; table: string };
  /** Temporary folders the demo used (all removed when runDemo returns). */
  tempPaths: string[];
  /** Process ids of every runtime CLI child. */
  childPids: number[];
  /** Seconds spent in each step, for the "under two minutes" promise. */
  timings: Record<"services" | "subscription" | "backfill" | "reports", number>;
  durationMs: number;
}

/** The part of the runtime's `once` summary the demo shows. */
export interface BackfillSummary {
  contentType: string;
  from: string;
  to: string;
  windows: number;
  blobsListed: number;
  blobsProcessed: number;
  blobsExpired: number;
  records: number;
  launches: number;
  deletes: number;
  unparsed: number;
  duplicates: number;
}

/** The part of the runtime's `once --source graph` summary the demo shows. */
export interface GraphBackfillSummary {
  source: "graph";
  from: string;
  to: string;
  windows: number;
  queries: number;
  submissions: number;
  splits: number;
  pages: number;
  records: number;
  launches: number;
  deletes: number;
  unparsed: number;
}

/**
 * Graph queries in the demo take seconds of real time, not minutes: the emulator's clock is real
 * here, and a demo should end in about a minute.
 */
export const DEMO_GRAPH_QUERY_MS = 3_000;

export class DemoInterrupted extends Error {
  constructor() {
    super("demo interrupted; everything it started has been stopped");
    this.name = "DemoInterrupted";
  }
}

const count = new Intl.NumberFormat("en-US");

export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const started = Date.now();
  const say = sayer(options);
  const signal = options.signal ?? new AbortController().signal;
  const checkAborted = () => {
    if (signal.aborted) throw new DemoInterrupted();
  };
  const steps = stepTimer(started);
  const tenant = { ...DEMO_TENANT, ...options.tenant };
  const staleDays = checkedStaleDays(options.staleDays ?? DEMO_STALE_DAYS);
  const outDir = resolve(options.outDir ?? join(REPO_ROOT, "out"));

  const running: Running = {};
  const onAbort = () => void running.cli?.stopAll();
  signal.addEventListener("abort", onAbort, { once: true });
  // Should the process end without the finally below (a second Ctrl-C), no child outlives it
  // and no temp dir stays behind (Azurite's own exit hook kills it).
  const onExit = () => killNow(running);
  process.once("exit", onExit);

  try {
    checkAborted();
    sayIntroduction(say, options.graph === true);
    const { emu, storage } = await startServices(running, options, tenant);
    checkAborted();
    steps.done("services");
    sayServices(say, tenant, emu, storage);

    const credential = options.credential ?? "federated";
    sayCredential(say, credential, emu);
    const cli = new RuntimeCli({
      env: runtimeEnv(emu, storage, credential, {
        // With --graph, the first pass reads the tenant's whole history, past the API's 7 days.
        ...(options.graph ? { AUDIT_GRAPH_BACKFILL_DAYS: String(tenant.days ?? 21) } : {}),
        ...options.runtimeEnv,
      }),
      showStderr: !options.quiet,
      bundle: options.runtimeBundle,
    });
    running.cli = cli;

    let backfillFrom: Date;
    let backfill: BackfillSummary[] = [];
    let graph: DemoResult["graph"];
    let window: TruthWindow;
    if (options.graph) {
      // Graph needs no subscription: queries are submitted on demand.
      steps.done("subscription");
      const graphRun = await runGraphBackfill(cli, say, options.quiet === true);
      checkAborted();
      steps.done("backfill");
      sayGraphBackfill(say, graphRun.backfill);
      ({ backfillFrom } = graphRun);
      graph = { backfill: graphRun.backfill, progress: graphRun.progress };
      // Every record created before this had been listed, so available, when the first query ran.
      window = completeWindow(backfillFrom, graphRun.startedAt, (w) => emu.windowCompleteAt(w));
    } else {
      say();
      say("$ npm run sync -- subscription start");
      await cli.runOk(["subscription", "start"]);
      checkAborted();
      steps.done("subscription");

      ({ backfillFrom, backfill } = await runBackfill(cli, say));
      checkAborted();
      steps.done("backfill");
      sayBackfill(say, backfill);
      window = comparedWindow(emu, backfillFrom, backfill);
    }
    const { files, table } = await runReports(cli, say, outDir, window, staleDays);
    checkAborted();
    steps.done("reports");
    say(table.trimEnd());

    const comparison = await compareWithGroundTruth(emu, files, window, backfillFrom, staleDays);
    sayComparison(say, window, comparison, staleDays);
    const coe = emu.dataverse
      ? compareCoeTables(emu.dataverse, comparison.report, window)
      : undefined;
    if (coe) {
      sayCoe(say, emu.dataverse!.url, coe);
      comparison.differences.push(...coe.differences);
    }
    saySummary(say, emu.stats(), steps.timings, files);

    return {
      window: { from: window.from.toISOString(), to: window.to.toISOString() },
      backfill,
      graph,
      report: comparison.report,
      groundTruth: comparison.groundTruth,
      differences: comparison.differences,
      coe,
      inactive: {
        staleDays,
        reported: comparison.report.inactiveApps ?? [],
        expected: comparison.expectedInactive,
      },
      files,
      table,
      auth: {
        credential,
        clientSecretsSeen: emu.stats().clientSecretsSeen,
        managedIdentityTokens: emu.stats().managedIdentityTokens,
      },
      endpoints: { emulator: emu.url, blob: storage.blobEndpoint, table: storage.tableEndpoint },
      tempPaths: [dirname(emu.caCertPath), ...(storage.location ? [storage.location] : [])],
      childPids: [...cli.pids],
      timings: steps.timings,
      durationMs: Date.now() - started,
    };
  } catch (err) {
    if (signal.aborted) throw new DemoInterrupted();
    throw err;
  } finally {
    signal.removeEventListener("abort", onAbort);
    await stopAll(running);
    process.removeListener("exit", onExit);
    say(`Stopped the emulator and Azurite and removed their temp dirs (${seconds(started)} s).`);
  }
}

type Say = (text?: string) => void;
type Timings = DemoResult["timings"];

/** What runDemo has started so far: everything here is stopped at the end, whatever happens. */
interface Running {
  emulator?: RunningEmulator;
  azurite?: RunningAzurite;
  cli?: RuntimeCli;
}

/** The demo's own lines, one per call; nothing when quiet. */
function sayer(options: DemoOptions): Say {
  const write = options.write ?? ((text: string) => void process.stdout.write(text));
  return (text = "") => {
    if (!options.quiet) write(text + "\n");
  };
}

/** Seconds per step, to a tenth: each step lasts from the end of the previous one. */
function stepTimer(started: number): { timings: Timings; done(step: keyof Timings): void } {
  const timings: Timings = { services: 0, subscription: 0, backfill: 0, reports: 0 };
  let stepStart = started;
  return {
    timings,
    done: (step) => {
      const now = Date.now();
      timings[step] = Math.round((now - stepStart) / 100) / 10;
      stepStart = now;
    },
  };
}

function checkedStaleDays(staleDays: number): number {
  if (!Number.isInteger(staleDays) || staleDays < 1 || staleDays > 6) {
    // The runtime only knows the 7 backfilled days: a longer idle time could list nothing.
    throw new Error(`staleDays must be a whole number of days from 1 to 6, got ${staleDays}`);
  }
  return staleDays;
}

function sayIntroduction(say: Say, graph: boolean): void {
  say("coe-audit-sync demo: no tenant, no Azure. A local emulator plays Entra ID and the");
  say(
    graph
      ? "Microsoft Graph audit log query API (queries of seconds here, minutes in a real tenant);"
      : "Office 365 Management Activity API; Azurite plays Azure Storage; the sync runtime is",
  );
  if (graph) say("Azurite plays Azure Storage; the sync runtime is");
  say("the real one, run through its command line (npm run sync -- ...).");
  say();
}

/**
 * Starts the emulator and Azurite side by side. Whichever started is recorded in `running` before
 * a failure of the other is thrown, so that the caller stops it.
 */
async function startServices(
  running: Running,
  options: DemoOptions,
  tenant: TenantOptions,
): Promise<{ emu: RunningEmulator; storage: RunningAzurite }> {
  const [emulator, azurite] = await Promise.allSettled([
    startEmulator({
      seed: options.seed ?? "coe-demo",
      tenant,
      content: { ...DEMO_CONTENT, ...options.content },
      ...(options.dataverse ? { dataverse: {} } : {}),
      ...(options.graph ? { graph: { queryRunMs: DEMO_GRAPH_QUERY_MS, pollProgressMs: 0 } } : {}),
    }),
    startAzurite(),
  ]);
  if (emulator.status === "fulfilled") running.emulator = emulator.value;
  if (azurite.status === "fulfilled") running.azurite = azurite.value;
  if (emulator.status === "rejected") throw emulator.reason;
  if (azurite.status === "rejected") throw azurite.reason;
  return { emu: emulator.value, storage: azurite.value };
}

function sayServices(
  say: Say,
  tenant: TenantOptions,
  emu: RunningEmulator,
  storage: RunningAzurite,
): void {
  say(
    `Synthetic tenant: ${tenant.apps} apps in ${tenant.environments} environments, ` +
      `${tenant.users} users, ${tenant.days} days of history, ${tenant.deletes} apps deleted, ` +
      `${tenant.abandonedApps ?? 2} abandoned;`,
  );
  say("both record schemas, late and duplicated records, unparsable records and noise.");
  say(`  emulator ${emu.url}   Azurite ${storage.blobEndpoint} (temp dir)`);
}

function sayCredential(say: Say, credential: RuntimeCredential, emu: RunningEmulator): void {
  say(
    credential === "federated"
      ? `The runtime signs in without a secret: the managed identity ${emu.managedIdentity.clientId}'s token`
      : "The runtime signs in with the app's client secret (--secret).",
  );
  if (credential === "federated")
    say(
      "  (IDENTITY_ENDPOINT, as Container Apps serve it) is the app's federated client assertion.",
    );
}

/** The runtime's environment: the emulator's tenant and endpoints, and Azurite's storage. */
function runtimeEnv(
  emu: RunningEmulator,
  storage: RunningAzurite,
  credential: RuntimeCredential,
  extra: Record<string, string> | undefined,
): Record<string, string> {
  return {
    ...(runtimeEnvFor(emu, credential) as Record<string, string>),
    AUDIT_STORAGE_CONNECTION_STRING: storage.connectionString,
    // The progress line is the show; info lines (one per window) and the warning per blob
    // with unparsable records would break it up. The backfill summary counts those records.
    AUDIT_LOG_LEVEL: "error",
    // No CoE inventory flows run here to add the apps admin_apps lacks: holding their launches
    // for them would only leave the tables short of the report.
    ...(emu.dataverse ? { AUDIT_DATAVERSE_HOLD_HOURS: "0" } : {}),
    ...extra,
  };
}

/**
 * `sync once` on empty storage: a first pass reads everything the API still holds (7 days, the
 * default AUDIT_FIRST_RUN_HOURS of 168), as a newly deployed stack's first pass does.
 */
async function runBackfill(
  cli: RuntimeCli,
  say: Say,
): Promise<{ backfillFrom: Date; backfill: BackfillSummary[] }> {
  say();
  say("$ npm run sync -- once");
  const backfill = JSON.parse(await cli.runOk(["once"])) as BackfillSummary[];
  // Where the runtime started: just inside the 7 days, so no blob it lists expires meanwhile.
  const backfillFrom = new Date(Math.min(...backfill.map((b) => Date.parse(b.from))));
  return { backfillFrom, backfill };
}

/**
 * `sync once --source graph` on empty storage: the first Graph pass reads the tenant's whole
 * history (AUDIT_GRAPH_BACKFILL_DAYS), as Graph reaches back 180 days where the Management API
 * keeps 7. Its progress line (days queried, running, stored) goes to stderr; when the demo is
 * quiet, it is captured and the last one kept.
 */
async function runGraphBackfill(
  cli: RuntimeCli,
  say: Say,
  quiet: boolean,
): Promise<{
  backfillFrom: Date;
  startedAt: Date;
  backfill: GraphBackfillSummary;
  progress?: string;
}> {
  const onceArgs = ["once", "--source", "graph"];
  say();
  say(`$ npm run sync -- ${onceArgs.join(" ")}`);
  const startedAt = new Date();
  const run = await cli.run(onceArgs);
  if (run.code !== 0) {
    const how = run.signal ? `was killed by ${run.signal}` : `exited with ${run.code}`;
    throw new Error(`sync ${onceArgs.join(" ")} ${how}\n${run.stderr.trim()}`);
  }
  const progress = quiet
    ? run.stderr
        .split(/[\r\n]+/)
        .filter((l) => l.includes(" queried "))
        .pop()
    : undefined;
  // `once` prints a list, one entry per source pass.
  const [backfill] = JSON.parse(run.stdout) as GraphBackfillSummary[];
  return { backfillFrom: new Date(backfill.from), startedAt, backfill, progress };
}

function sayGraphBackfill(say: Say, b: GraphBackfillSummary): void {
  say(
    `  Microsoft Graph: ${plural(b.windows, "day")}, ${plural(b.submissions, "query", "queries")} submitted ` +
      `(${plural(b.splits, "split")}), ${plural(b.pages, "page")} of records;`,
  );
  say(
    `  ${plural(b.records, "record")} -> ${plural(b.launches, "launch", "launches")}, ` +
      `${plural(b.deletes, "delete")}.`,
  );
}

function sayBackfill(say: Say, backfill: BackfillSummary[]): void {
  for (const b of backfill) {
    say(
      `  ${b.contentType}: ${b.windows} windows, ${count.format(b.blobsProcessed)} blobs, ` +
        `${plural(b.records, "record")} -> ${plural(b.launches, "launch", "launches")}, ` +
        `${plural(b.deletes, "delete")};`,
    );
    say(
      `  ${plural(b.duplicates, "duplicate")} dropped, ` +
        `${plural(b.unparsed, "unparsable record")} archived but not counted.`,
    );
  }
}

/** From the backfill's start to the last minute whose records had all been listed by then. */
function comparedWindow(
  emu: RunningEmulator,
  backfillFrom: Date,
  backfill: BackfillSummary[],
): TruthWindow {
  // Every window the backfill listed ended at its `to`, and it listed them no earlier.
  const listedBefore = new Date(Math.min(...backfill.map((b) => Date.parse(b.to))));
  return completeWindow(backfillFrom, listedBefore, (w) => emu.windowCompleteAt(w));
}

/** `sync report` of the window: the table on stdout, and the JSON, CSV and HTML files. */
async function runReports(
  cli: RuntimeCli,
  say: Say,
  outDir: string,
  window: TruthWindow,
  staleDays: number,
): Promise<{ files: DemoFiles; table: string }> {
  const range = [
    "--from",
    window.from.toISOString(),
    "--to",
    window.to.toISOString(),
    "--stale-days",
    String(staleDays),
  ];
  await mkdir(outDir, { recursive: true });
  const files: DemoFiles = {
    html: join(outDir, "usage-report.html"),
    csv: join(outDir, "usage-report.csv"),
    json: join(outDir, "usage-report.json"),
  };
  say();
  say(`$ npm run sync -- report --format table ${range.join(" ")}`);
  const [table] = await Promise.all([
    cli.runOk(["report", "--format", "table", ...range]),
    cli.runOk(["report", "--format", "json", ...range, "--out", files.json]),
    cli.runOk(["report", "--format", "csv", ...range, "--out", files.csv]),
    cli.runOk(["report", "--format", "html", ...range, "--out", files.html]),
  ]);
  return { files, table };
}

interface Comparison {
  report: UsageReport;
  groundTruth: UsageReport;
  expectedInactive: InactiveApp[];
  differences: string[];
}

/** The runtime's JSON report against the emulator's ground truth and inactive apps. */
async function compareWithGroundTruth(
  emu: RunningEmulator,
  files: DemoFiles,
  window: TruthWindow,
  backfillFrom: Date,
  staleDays: number,
): Promise<Comparison> {
  const report = JSON.parse(await readFile(files.json, "utf8")) as UsageReport;
  const groundTruth = emu.groundTruth(window, { daily: true });
  // The runtime has seen every record created since the backfill's start (and a few just before).
  const expectedInactive = emu.inactiveApps({ seenFrom: backfillFrom, to: window.to, staleDays });
  const differences = [
    ...reportDifferences(report, groundTruth),
    ...inactiveDifferences(report.inactiveApps, expectedInactive),
  ];
  return { report, groundTruth, expectedInactive, differences };
}

function sayCoe(say: Say, url: string, coe: CoeComparison): void {
  say();
  say(`CoE Starter Kit tables in the emulated Dataverse environment ${url}:`);
  say(
    `  admin_auditlogs: ${count.format(coe.auditRows)} rows (${count.format(coe.rowsWithoutLookup)} without app lookup: app not in admin_apps)`,
  );
  say("  per app, as the CoE dashboard counts them over the compared window:");
  for (const line of coe.lines.slice(0, 10)) say(`    ${line}`);
  if (coe.lines.length > 10) say(`    … ${coe.lines.length - 10} more apps`);
  say(
    coe.differences.length === 0
      ? `OK: launches and unique users per app from admin_auditlogs equal the report; admin_apps deletions of ${coe.appsChecked} apps equal the emulator's.`
      : `MISMATCH: ${coe.differences.length} differences between the CoE tables and the report.`,
  );
  for (const d of coe.differences.slice(0, 20)) say(`  ${d}`);
}

function sayComparison(
  say: Say,
  window: TruthWindow,
  { groundTruth, expectedInactive, differences }: Comparison,
  staleDays: number,
): void {
  const launches = groundTruth.apps.reduce((sum, a) => sum + a.launches, 0);
  say();
  say(
    `Compared window: ${window.from.toISOString()} .. ${window.to.toISOString()}, from the start`,
  );
  say("  of the backfill to the last minute whose records had all been listed when it ran");
  say("  (records keep arriving up to 12 hours late, as in a real tenant).");
  if (differences.length === 0) {
    say(
      `OK: the report equals the emulator's ground truth: ${groundTruth.apps.length} apps, ` +
        `${count.format(launches)} launches, and per app`,
    );
    say("  unique users, last launch, deleted flag, name and environment; launches per day.");
    say(
      `OK: the ${plural(expectedInactive.length, "app")} not launched for ${staleDays} days ` +
        `(over everything synced) equal the emulator's expectation:`,
    );
    for (const app of expectedInactive) {
      say(`  ${app.appName ?? app.appId}, last launched ${app.lastLaunchedAt ?? "never"}`);
    }
  } else {
    say(`MISMATCH: ${differences.length} differences from the emulator's ground truth:`);
    for (const d of differences.slice(0, 20)) say(`  ${d}`);
  }
}

function saySummary(
  say: Say,
  stats: ReturnType<RunningEmulator["stats"]>,
  timings: Timings,
  files: DemoFiles,
): void {
  say(
    stats.graph.queriesSubmitted > 0
      ? `Emulator served ${count.format(stats.graph.graphRequests)} Graph calls for ` +
          `${plural(stats.graph.queriesSubmitted, "query", "queries")}, at most ` +
          `${stats.graph.peakQueriesInFlight} queued or running at once, and ${stats.tokensIssued} tokens; ` +
          `${plural(stats.managedIdentityTokens, "managed-identity token")}, ` +
          `${plural(stats.clientSecretsSeen, "token request")} with a client secret.`
      : `Emulator served ${count.format(stats.requests)} API calls (${stats.throttled} throttled) ` +
          `and ${stats.tokensIssued} tokens; ${plural(stats.managedIdentityTokens, "managed-identity token")}, ` +
          `${plural(stats.clientSecretsSeen, "token request")} with a client secret.`,
  );
  say(
    `Took ${timings.services} s to start the emulator and Azurite, ${timings.subscription} s ` +
      `to start the subscription,`,
  );
  say(`  ${timings.backfill} s to backfill, ${timings.reports} s for the reports.`);
  say();
  say(`Dashboard: ${pathToFileURL(files.html).href}`);
  say(`CSV:       ${files.csv}`);
  say(`JSON:      ${files.json}`);
}

/** Stops the runtime's children, then the emulator and Azurite (which remove their temp dirs). */
async function stopAll(running: Running): Promise<void> {
  await running.cli?.stopAll();
  await Promise.all([running.emulator?.stop(), running.azurite?.stop()]);
}

/** On process exit: synchronous, so it can run in an "exit" handler. */
function killNow(running: Running): void {
  running.cli?.killAllNow();
  for (const dir of [
    running.emulator && dirname(running.emulator.caCertPath),
    running.azurite?.location,
  ]) {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${count.format(n)} ${n === 1 ? one : many}`;
}

function seconds(since: number): string {
  return ((Date.now() - since) / 1000).toFixed(1);
}
