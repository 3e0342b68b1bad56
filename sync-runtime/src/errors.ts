/**
 * One error family for the runtime. Every error has a stable `code` (for logs, metrics and exit
 * codes), keeps its cause, and says in its message what failed and what to do about it.
 */
export class SyncError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Bad or missing configuration; `key` names the environment variable or option. */
export class ConfigError extends SyncError {
  readonly key: string;
  constructor(key: string, message: string, options?: { cause?: unknown }) {
    super("CONFIG", message, options);
    this.key = key;
  }
}

/** A Management Activity API (or token endpoint) answer that is not a success. */
export class ApiError extends SyncError {
  readonly status: number;
  /** The `AF…` code from the error body, when the body had one. */
  readonly afCode: string | undefined;
  readonly url: string;
  constructor(
    init: { status: number; afCode?: string; url: string; message: string },
    options?: { cause?: unknown },
  ) {
    super(init.afCode ?? `HTTP${init.status}`, init.message, options);
    this.status = init.status;
    this.afCode = init.afCode;
    this.url = init.url;
  }
}

/** The API throttled us (HTTP 429, or 403 with AF429). */
export class ThrottledError extends ApiError {
  /** From `Retry-After` when the answer had one. */
  readonly retryAfterMs: number | undefined;
  constructor(
    init: { status: number; afCode?: string; url: string; retryAfterMs?: number },
    options?: { cause?: unknown },
  ) {
    super(
      {
        ...init,
        message:
          `The Management Activity API throttled the request (HTTP ${init.status}${init.afCode ? ` ${init.afCode}` : ""}). ` +
          "The runtime backs off and retries; if this persists, lower AUDIT_RATE_LIMIT_PER_MINUTE " +
          "or check that AUDIT_PUBLISHER_ID is set so the tenant has its own quota.",
      },
      options,
    );
    this.retryAfterMs = init.retryAfterMs;
  }
}

/** A network failure, timeout or truncated body: always worth a retry. */
export class TransportError extends SyncError {
  readonly url: string;
  constructor(url: string, message: string, options?: { cause?: unknown }) {
    super("TRANSPORT", message, options);
    this.url = url;
  }
}

/** Token acquisition failed (wrong tenant, client id or secret, unreachable authority). */
export class AuthError extends SyncError {
  /** True for outages of the token endpoint (worth a retry), false for refused credentials. */
  readonly transient: boolean;
  constructor(message: string, options: { cause?: unknown; transient: boolean }) {
    super("AUTH", message, { cause: options.cause });
    this.transient = options.transient;
  }
}

/** Azure Storage (tables or blobs) failed. */
export class StorageError extends SyncError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("STORAGE", message, options);
  }
}

/** Wrong command line; the CLI prints usage and exits with 2. */
export class UsageError extends SyncError {
  constructor(message: string) {
    super("USAGE", message);
  }
}

/**
 * Whether an API error is worth retrying: throttling, 5xx and transport failures are; the rest
 * not. Token failures are retried inside auth.ts only, so retries never multiply.
 */
export function isRetryable(err: unknown): boolean {
  if (err instanceof ThrottledError || err instanceof TransportError) return true;
  if (err instanceof ApiError) return err.status >= 500 || err.status === 408;
  return false;
}
