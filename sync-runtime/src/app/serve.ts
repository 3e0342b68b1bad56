import { LOG_EVENTS } from "../../contract";
import { createServer, type RequestListener } from "node:http";
import type { AddressInfo } from "node:net";
import {
  renderReport,
  REPORT_CONTENT_TYPES,
  REPORT_FILE_EXTENSIONS,
  type ReportFormat,
} from "../presentation/report/render";
import { DEFAULT_STALE_DAYS } from "../domain/stale-days";
import type { UsageReport } from "../domain/usage-report";
import { LeaseHeldError } from "../core/errors";
import { sleep } from "../core/sleep";
import { lastDays } from "../domain/report-window";
import type { Runtime } from "./runtime";

export interface ServeOptions {
  port: number;
  intervalMs: number;
  reportDays: number;
  /** "Not launched for N days" in the report files (all-time inactiveApps). Default 30. */
  staleDays?: number;
  /** Stops the scheduler; the pass in flight finishes its current blobs and stops. */
  signal: AbortSignal;
}

export interface RunningService {
  port: number;
  /** Resolves when the scheduler has stopped (after the signal) and the server is closed. */
  done: Promise<void>;
}

/** The report files written after each pass, in the `reports` container. */
export const REPORT_FILES: readonly ReportFormat[] = ["json", "csv", "html"];
export const reportBlobName = (format: ReportFormat) =>
  `latest/usage-report.${REPORT_FILE_EXTENSIONS[format]}`;

/**
 * `serve`: passes on a fixed schedule (a pass starts `intervalMs` after the previous one started,
 * or right after it ended if it ran longer: passes never overlap), plus /healthz, /readyz and
 * /metrics. After each successful pass the latest report files go to the reports container.
 */
export async function serve(runtime: Runtime, options: ServeOptions): Promise<RunningService> {
  const { logger } = runtime;
  const state: PassState = { lastPass: "none", lastError: "" };
  const server = createServer(healthHandler(runtime, state, options.signal));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  logger.info("serving", {
    port,
    intervalMinutes: options.intervalMs / 60_000,
    // Which Key Vault secret version this revision runs with (rotation check); not the secret.
    clientSecretVersion: runtime.config.clientSecretVersion,
    // How it signs in: "federated" needs no secret, so a secret version means nothing then.
    credential: runtime.config.credential.kind,
  });

  const loop = async () => {
    // Bounded by the signal: each iteration is one pass and one wait, until stop is requested.
    while (!options.signal.aborted) {
      const started = Date.now();
      await scheduledPass(runtime, state, options);
      const wait = Math.max(0, started + options.intervalMs - Date.now());
      await sleep(wait, options.signal).catch(() => undefined);
    }
  };

  const done = loop().then(
    () =>
      new Promise<void>((resolve) => {
        logger.info("stopped");
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return { port, done };
}

/** What /readyz reports: the outcome of the latest pass. */
interface PassState {
  lastPass: "none" | "ok" | "failed";
  lastError: string;
}

/** /healthz (the process serves), /readyz (the last pass succeeded) and /metrics. */
function healthHandler(runtime: Runtime, state: PassState, signal: AbortSignal): RequestListener {
  return (req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { Allow: "GET, HEAD" }).end();
    } else if (path === "/healthz") {
      const ok = !signal.aborted;
      res
        .writeHead(ok ? 200 : 503, { "Content-Type": "text/plain" })
        .end(ok ? "ok\n" : "stopping\n");
    } else if (path === "/readyz") {
      // Ready means "the last pass succeeded": monitoring sees a broken secret or lost consent.
      const ok = state.lastPass === "ok" && !signal.aborted;
      res.writeHead(ok ? 200 : 503, { "Content-Type": "application/json" }).end(
        JSON.stringify({
          ready: ok,
          lastPass: state.lastPass,
          lastError: state.lastError || undefined,
        }) + "\n",
      );
    } else if (path === "/metrics") {
      res
        .writeHead(200, { "Content-Type": "text/plain; version=0.0.4" })
        .end(runtime.metrics.render());
    } else {
      res.writeHead(404, { "Content-Type": "text/plain" }).end("not found\n");
    }
  };
}

/** One pass of the schedule and its report files; a failure is logged and the loop goes on. */
async function scheduledPass(
  runtime: Runtime,
  state: PassState,
  options: ServeOptions,
): Promise<void> {
  const { metrics, logger } = runtime;
  try {
    await runtime.ready();
    metrics.set("audit_pass_running", 1);
    const request = { signal: options.signal, whenLeaseHeld: "skip" } as const;
    const results =
      runtime.config.source === "graph"
        ? [await runtime.syncGraph(request)]
        : await runtime.sync(request);
    metrics.inc("audit_passes_total", { result: "ok" });
    metrics.set("audit_last_success_timestamp_seconds", Math.floor(Date.now() / 1000));
    state.lastPass = "ok";
    state.lastError = "";
    logger.info("pass completed", { event: LOG_EVENTS.passCompleted, results });
    // A failed report upload is not a failed pass: the data is stored; log it and move on.
    await writeReportFiles(runtime, options.reportDays, options.staleDays, options.signal).catch(
      (err: Error) =>
        logger.error("report files not written; they are retried after the next pass", {
          error: err,
        }),
    );
  } catch (err) {
    if (options.signal.aborted) return;
    if (err instanceof LeaseHeldError) {
      // Not a failure: the other runtime's pass covers this interval (readiness unchanged).
      logger.info("pass skipped: another runtime holds the sync lease", { code: err.code });
      return;
    }
    metrics.inc("audit_passes_total", { result: "failed" });
    state.lastPass = "failed";
    state.lastError = (err as Error).message ?? String(err);
    logger.error("pass failed; the next pass retries from the checkpoint", {
      event: LOG_EVENTS.passFailed,
      error: err as Error,
    });
  } finally {
    metrics.set("audit_pass_running", 0);
  }
}

/**
 * Renders the report for the last `days` days (today and the whole days before it), with the apps not launched for `staleDays` days
 * (all time), in every file format and uploads it.
 */
export async function writeReportFiles(
  runtime: Runtime,
  days: number,
  staleDays: number = DEFAULT_STALE_DAYS,
  signal?: AbortSignal,
): Promise<UsageReport> {
  const report = await runtime.report(lastDays(runtime.now(), days), { staleDays, signal });
  for (const format of REPORT_FILES) {
    const body = Buffer.from(renderReport(report, format), "utf8");
    await runtime.store.reports.put(reportBlobName(format), body, REPORT_CONTENT_TYPES[format], {
      abortSignal: signal,
    });
  }
  return report;
}
