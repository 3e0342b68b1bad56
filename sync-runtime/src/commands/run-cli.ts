import { loadConfig, secretValues, type RuntimeConfig } from "../app/config";
import { createRuntime, type Runtime } from "../app/runtime";
import { serve } from "../app/serve";
import { ConfigError, SyncError, UsageError } from "../core/errors";
import { createLogger, errorFields, type Logger } from "../core/log";
import { allowOnly, parseArgs, type Parsed } from "./args";
import { EXIT, HELP } from "./help";
import type { CliIo } from "./io";
import { onceCommand } from "./once";
import { reportCommand } from "./report";
import { subscriptionCommand } from "./subscription";
import { dataverseCommand } from "./dataverse";

export { EXIT, HELP } from "./help";
export { parseArgs, parseStaleDays, parseTime } from "./args";
export type { CliIo } from "./io";

/** Runs one command line; returns the exit code. Never calls process.exit (the entry does). */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const write = (l: string) => io.stderr.write(l + "\n");
  let logger: Logger = createLogger({ level: "info", write });
  try {
    const parsed = parseArgs(argv);
    const [command, sub, ...rest] = parsed.command;
    if (!command || command === "help" || parsed.flags.has("help")) {
      io.stdout(HELP);
      return command || parsed.flags.has("help") ? EXIT.ok : EXIT.usage;
    }
    if (rest.length > 0) throw new UsageError(`Unexpected argument "${rest[0]}".`);
    const config = loadConfig(io.env);
    // From here on every line is redacted of the configured secrets.
    logger = createLogger({ level: config.logLevel, secrets: secretValues(config), write });
    const runtime = createRuntime(config, { logger });
    return await dispatch({ runtime, config, parsed, command, sub, io });
  } catch (err) {
    return exitCodeFor(err, logger, io);
  }
}

interface Invocation {
  runtime: Runtime;
  config: RuntimeConfig;
  parsed: Parsed;
  command: string;
  sub: string | undefined;
  io: CliIo;
}

/** The command's own checks of its words and flags, then the command. */
async function dispatch({
  runtime,
  config,
  parsed,
  command,
  sub,
  io,
}: Invocation): Promise<number> {
  const noSubcommand = () => {
    if (sub) throw new UsageError(`Unexpected argument "${sub}".`);
  };
  switch (command) {
    case "subscription":
      allowOnly(parsed, []);
      return subscriptionCommand(runtime, config, sub, io);
    case "once":
      noSubcommand();
      allowOnly(parsed, ["from", "to", "source", "gaps"]);
      return onceCommand(runtime, parsed, io);
    case "serve": {
      noSubcommand();
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
      noSubcommand();
      allowOnly(parsed, ["from", "to", "days", "format", "out", "stale-days"]);
      return reportCommand(runtime, parsed, io);
    case "gaps": {
      allowOnly(parsed, []);
      await runtime.ready();
      // Events Dataverse refused for good are missing from the CoE tables: listed with the rest.
      const gaps = [
        ...(await runtime.store.gaps.list()),
        ...((await runtime.dataverse?.rejectedGaps()) ?? []),
      ];
      io.stdout(JSON.stringify(gaps, null, 2) + "\n");
      return EXIT.ok;
    }
    case "dataverse":
      allowOnly(parsed, sub === "backfill" ? ["from"] : []);
      return dataverseCommand(runtime, sub, parsed, io);
    case "rebuild-rollups": {
      noSubcommand();
      allowOnly(parsed, []);
      const days = await runtime.rebuildRollups({ signal: io.signal });
      io.stdout(JSON.stringify({ daysRolledUp: days.length, days }, null, 2) + "\n");
      return EXIT.ok;
    }
    default:
      throw new UsageError(`Unknown command "${command}".`);
  }
}

/** Usage and configuration mistakes exit 2, an interruption 130, any other failure 1, logged. */
function exitCodeFor(err: unknown, logger: Logger, io: CliIo): number {
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
