import { writeFile } from "node:fs/promises";
import { describeVariables, loadConfig, secretValues, type RuntimeConfig } from "../app/config";
import { ConfigError, SyncError, UsageError } from "../core/errors";
import { createLogger, errorFields, type Logger } from "../core/log";
import { createProgressRenderer } from "../presentation/progress/progress-renderer";
import { isReportFormat, REPORT_FORMATS, renderReport } from "../presentation/report/render";
import { DEFAULT_STALE_DAYS } from "../domain/stale-days";
import { createRuntime, type Runtime } from "../app/runtime";
import { serve } from "../app/serve";

/** Exit codes, documented in --help. */
export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

export const HELP = `coe-audit-sync runtime: Microsoft 365 audit log -> Power Apps usage in Azure Storage.

Usage: npm run sync -- <command> [options]
       (npm run -s sync -- ... keeps npm's own lines out of stdout)

Commands:
  subscription start|stop|list
        Start, stop or list the Management Activity API subscriptions of every content type in
        AUDIT_CONTENT_TYPES. "Already enabled" (AF20024) counts as success. list prints JSON.
  once [--from ISO] [--to ISO]
        One sync pass over content created in [from, to). Default from: the checkpoint (minus
        AUDIT_OVERLAP_MINUTES), or the last AUDIT_FIRST_RUN_HOURS on a first run; default to: now.
        The API serves at most 7 days back; an older checkpoint is recorded as a gap.
        Prints a JSON summary per content type on stdout; progress and logs go to stderr.
  serve
        Run a pass every AUDIT_SYNC_INTERVAL_MINUTES (never two at once), write the latest report
        (json, csv, html) to the "reports" container after each pass, and serve /healthz, /readyz
        and /metrics (Prometheus) on PORT. SIGTERM/SIGINT stop it gracefully.
  report [--days N | --from ISO --to ISO] [--format ${REPORT_FORMATS.join("|")}] [--out FILE]
         [--stale-days N]
        Usage per app for the window (default: the last 7 days), read from storage. stdout holds
        only the report (or nothing with --out). Launches count once per record Id; unique users
        are distinct UPNs, case-insensitive; the window filters on the records' CreationTime.
        Also lists the apps not launched for --stale-days days (default ${DEFAULT_STALE_DAYS}), over all
        time synced, not only the window: json (inactiveApps), table and html; csv holds the
        window's apps only.
  gaps
        List what could no longer be fetched (JSON): intervals older than the API's 7 days
        ({from, to}) and content blobs that expired before download ({contentId, contentCreated}).
  help, --help
        This text.

Times are ISO 8601 (2026-05-19, 2026-05-19T13:00, 2026-05-19T13:00:00Z); without a zone they are UTC.

Environment variables:
${describeVariables()}

Exit codes: 0 success, 1 the command failed (API, token or storage; the message says what to do),
2 bad command line or configuration, 130 interrupted before the pass completed.
`;

export interface CliIo {
  stdout: (text: string) => void;
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  env: Record<string, string | undefined>;
  /** Aborted on SIGTERM/SIGINT by the entry script. */
  signal: AbortSignal;
}

interface Parsed {
  command: string[];
  flags: Map<string, string>;
}

const FLAGS_WITH_VALUES = new Set(["from", "to", "days", "format", "out", "stale-days"]);

export function parseArgs(argv: string[]): Parsed {
  const command: string[] = [];
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--help" || arg === "-h") {
      flags.set("help", "true");
    } else if (arg.startsWith("--")) {
      const [name, inline] = arg.slice(2).split(/=(.*)/s, 2);
      if (!FLAGS_WITH_VALUES.has(name)) throw new UsageError(`Unknown option --${name}.`);
      const value = inline ?? argv[++i];
      if (value === undefined || value.startsWith("--"))
        throw new UsageError(`--${name} needs a value.`);
      flags.set(name, value);
    } else {
      command.push(arg);
    }
  }
  return { command, flags };
}

/** ISO 8601 date or date-time; no zone means UTC (like the API's own parameters). */
export function parseTime(flag: string, value: string): Date {
  const zoned =
    /T.*(Z|[+-]\d{2}:?\d{2})$/.test(value) || !value.includes("T") ? value : `${value}Z`;
  const ms = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(zoned) : NaN;
  if (Number.isNaN(ms)) {
    throw new UsageError(
      `--${flag} ${value} is not an ISO 8601 time; use e.g. 2026-05-19 or 2026-05-19T13:00:00Z.`,
    );
  }
  return new Date(ms);
}

/** `--stale-days N`: whole days, like --days. */
export function parseStaleDays(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_STALE_DAYS;
  const days = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isInteger(days) || days < 1 || days > 3660) {
    throw new UsageError(
      `--stale-days ${raw} is not a whole number of days between 1 and 3660; pass e.g. --stale-days 30.`,
    );
  }
  return days;
}

function allowOnly(parsed: Parsed, allowed: string[]): void {
  for (const name of parsed.flags.keys()) {
    if (name !== "help" && !allowed.includes(name)) {
      throw new UsageError(`Option --${name} does not apply to "${parsed.command.join(" ")}".`);
    }
  }
}

/** Runs one command line; returns the exit code. Never calls process.exit (the entry does). */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let logger: Logger = createLogger({ level: "info", write: (l) => io.stderr.write(l + "\n") });
  try {
    const parsed = parseArgs(argv);
    const [command, sub, ...rest] = parsed.command;
    if (!command || command === "help" || parsed.flags.has("help")) {
      io.stdout(HELP);
      return command || parsed.flags.has("help") ? EXIT.ok : EXIT.usage;
    }
    if (rest.length > 0) throw new UsageError(`Unexpected argument "${rest[0]}".`);
    const config = loadConfig(io.env);
    logger = createLogger({
      level: config.logLevel,
      secrets: secretValues(config),
      write: (l) => io.stderr.write(l + "\n"),
    });
    const runtime = createRuntime(config, { logger });
    switch (command) {
      case "subscription":
        allowOnly(parsed, []);
        return await subscriptionCommand(runtime, config, sub, io);
      case "once":
        if (sub) throw new UsageError(`Unexpected argument "${sub}".`);
        allowOnly(parsed, ["from", "to"]);
        return await onceCommand(runtime, parsed, io);
      case "serve": {
        if (sub) throw new UsageError(`Unexpected argument "${sub}".`);
        allowOnly(parsed, []);
        const service = await serve(runtime, {
          port: config.port,
          intervalMs: config.syncIntervalMs,
          reportDays: config.reportDays,
          staleDays: config.reportStaleDays,
          signal: io.signal,
        });
        await service.done;
        return EXIT.ok;
      }
      case "report":
        if (sub) throw new UsageError(`Unexpected argument "${sub}".`);
        allowOnly(parsed, ["from", "to", "days", "format", "out", "stale-days"]);
        return await reportCommand(runtime, parsed, io);
      case "gaps":
        allowOnly(parsed, []);
        await runtime.ready();
        io.stdout(JSON.stringify(await runtime.store.gaps.list(), null, 2) + "\n");
        return EXIT.ok;
      default:
        throw new UsageError(`Unknown command "${command}".`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(
        `${err.message}\nRun \`npm run sync -- --help\` for the commands and options.\n`,
      );
      return EXIT.usage;
    }
    if (err instanceof ConfigError) {
      logger.error(err.message, { code: err.code, key: err.key });
      return EXIT.usage;
    }
    if (io.signal.aborted) {
      logger.warn("interrupted; the next run resumes from the checkpoint");
      return EXIT.interrupted;
    }
    const e = err instanceof Error ? err : new Error(String(err));
    logger.error(e.message, {
      code: e instanceof SyncError ? e.code : undefined,
      error: errorFields(e),
    });
    return EXIT.failed;
  }
}

async function subscriptionCommand(
  runtime: Runtime,
  config: RuntimeConfig,
  action: string | undefined,
  io: CliIo,
): Promise<number> {
  switch (action) {
    case "start":
      for (const ct of config.contentTypes) {
        const result = await runtime.api.startSubscription(ct);
        runtime.logger.info(
          result === "started" ? "subscription started" : "subscription already enabled (AF20024)",
          { contentType: ct },
        );
      }
      return EXIT.ok;
    case "stop":
      for (const ct of config.contentTypes) {
        await runtime.api.stopSubscription(ct);
        runtime.logger.info("subscription stopped", { contentType: ct });
      }
      return EXIT.ok;
    case "list":
      io.stdout(JSON.stringify(await runtime.api.listSubscriptions(), null, 2) + "\n");
      return EXIT.ok;
    default:
      throw new UsageError(
        `subscription needs start, stop or list${action ? `, not "${action}"` : ""}.`,
      );
  }
}

async function onceCommand(runtime: Runtime, parsed: Parsed, io: CliIo): Promise<number> {
  const from = parsed.flags.has("from") ? parseTime("from", parsed.flags.get("from")!) : undefined;
  const to = parsed.flags.has("to") ? parseTime("to", parsed.flags.get("to")!) : undefined;
  if (from && to && from >= to) throw new UsageError("--from must be before --to.");
  const progress = createProgressRenderer({ stream: io.stderr, isTTY: io.stderr.isTTY === true });
  try {
    const results = await runtime.sync({
      from,
      to,
      onProgress: (s) => progress.update(s),
      signal: io.signal,
    });
    progress.finish("done");
    io.stdout(JSON.stringify(results, null, 2) + "\n");
    return EXIT.ok;
  } catch (err) {
    progress.finish("failed");
    throw err;
  }
}

async function reportCommand(runtime: Runtime, parsed: Parsed, io: CliIo): Promise<number> {
  const format = parsed.flags.get("format") ?? "table";
  if (!isReportFormat(format))
    throw new UsageError(`--format ${format} is not one of ${REPORT_FORMATS.join(", ")}.`);
  const hasDays = parsed.flags.has("days");
  const hasFrom = parsed.flags.has("from");
  const hasTo = parsed.flags.has("to");
  if (hasDays && (hasFrom || hasTo))
    throw new UsageError("Use either --days or --from/--to, not both.");
  let window: { from: Date; to: Date };
  if (hasFrom || hasTo) {
    if (!hasFrom || !hasTo) throw new UsageError("--from and --to go together.");
    window = {
      from: parseTime("from", parsed.flags.get("from")!),
      to: parseTime("to", parsed.flags.get("to")!),
    };
    if (window.from >= window.to) throw new UsageError("--from must be before --to.");
  } else {
    const raw = parsed.flags.get("days") ?? "7";
    const days = Number(raw);
    if (!Number.isInteger(days) || days < 1 || days > 3660)
      throw new UsageError(`--days ${raw} is not a whole number of days between 1 and 3660.`);
    const to = runtime.now();
    window = { from: new Date(to.getTime() - days * 86_400_000), to };
  }
  const staleDays = parseStaleDays(parsed.flags.get("stale-days"));
  const text = renderReport(await runtime.report(window, { staleDays }), format);
  const out = parsed.flags.get("out");
  if (out) {
    await writeFile(out, text);
    runtime.logger.info("report written", { file: out, format });
  } else {
    io.stdout(text);
  }
  return EXIT.ok;
}
