export type LogLevel = "debug" | "info" | "warn" | "error";

/** The levels, least severe first. */
export const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/**
 * JSON lines on stderr (stdout is reserved for reports). Every line passes through redaction of
 * the known secret values, so a secret cannot leak even through an error message or a cause.
 */
export function createLogger(options: {
  level?: LogLevel;
  secrets?: string[];
  write?: (line: string) => void;
  now?: () => Date;
}): Logger {
  const min = ORDER[options.level ?? "info"];
  const secrets = (options.secrets ?? []).filter((s) => s.length >= 4);
  const write = options.write ?? ((line: string) => process.stderr.write(line + "\n"));
  const now = options.now ?? (() => new Date());
  const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < min) return;
    let line = JSON.stringify({ time: now().toISOString(), level, msg, ...serialise(fields) });
    for (const s of secrets) line = line.split(jsonEscaped(s)).join("[redacted]");
    write(line);
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
  };
}

/** A secret as it appears inside a JSON string (quotes and backslashes escaped). */
function jsonEscaped(s: string): string {
  return JSON.stringify(s).slice(1, -1);
}

/** Errors become {name, code, message, cause chain}; stacks stay out of the logs. */
function serialise(fields?: Record<string, unknown>): Record<string, unknown> | undefined {
  if (!fields) return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) out[k] = v instanceof Error ? errorFields(v) : v;
  return out;
}

export function errorFields(err: Error, depth = 0): Record<string, unknown> {
  const code = (err as { code?: unknown }).code;
  const cause = (err as { cause?: unknown }).cause;
  return {
    name: err.name,
    ...(code !== undefined ? { code } : {}),
    message: err.message,
    ...(cause instanceof Error && depth < 3 ? { cause: errorFields(cause, depth + 1) } : {}),
  };
}

/** A logger that drops everything (library default). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
