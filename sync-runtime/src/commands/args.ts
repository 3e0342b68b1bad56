import { UsageError } from "../core/errors";
import { DEFAULT_STALE_DAYS, validateStaleDays } from "../domain/stale-days";

/** A command line: the words, and the --flags with their values. */
export interface Parsed {
  command: string[];
  flags: Map<string, string>;
}

const FLAGS_WITH_VALUES = new Set(["from", "to", "days", "format", "out", "stale-days", "source"]);
/** Flags that take no value. */
const SWITCHES = new Set(["gaps"]);

export function parseArgs(argv: string[]): Parsed {
  const command: string[] = [];
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--help" || arg === "-h") {
      flags.set("help", "true");
    } else if (arg.startsWith("--")) {
      const [name, inline] = arg.slice(2).split(/=(.*)/s, 2);
      if (SWITCHES.has(name) && inline === undefined) {
        flags.set(name, "true");
        continue;
      }
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

/** `--stale-days N`: the report's rule (a positive number of days), and whole days, like --days. */
export function parseStaleDays(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_STALE_DAYS;
  const mistake = () =>
    new UsageError(
      `--stale-days ${raw} is not a whole number of days between 1 and 3660; pass e.g. --stale-days 30.`,
    );
  let days: number;
  try {
    days = validateStaleDays(Number(raw));
  } catch (err) {
    if (err instanceof RangeError) throw mistake();
    throw err;
  }
  if (!/^\d+$/.test(raw.trim()) || !Number.isInteger(days) || days > 3660) throw mistake();
  return days;
}

/** Refuses flags the command does not take. */
export function allowOnly(parsed: Parsed, allowed: string[]): void {
  for (const name of parsed.flags.keys()) {
    if (name !== "help" && !allowed.includes(name)) {
      throw new UsageError(`Option --${name} does not apply to "${parsed.command.join(" ")}".`);
    }
  }
}
