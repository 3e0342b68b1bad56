/**
 * The Management Activity API's documented error codes that the runtime acts on (learn.microsoft.com,
 * "Office 365 Management Activity API reference", Errors; AF429 from "API throttling").
 */
export const AF = {
  /** The app lacks ActivityFeed.Read or admin consent. */
  permissionMissing: "AF10001",
  noSubscription: "AF20022",
  subscriptionDisabled: "AF20023",
  /** The subscription is already enabled: success for a start. */
  alreadyEnabled: "AF20024",
  /** The content id is invalid or the content expired: it can never be fetched. */
  contentExpired: "AF20052",
  /** startTime/endTime rules broken. */
  timeRules: "AF20055",
  throttled: "AF429",
  internalError: "AF50000",
} as const;

export type AfCode = (typeof AF)[keyof typeof AF];

const AF_CODES: readonly string[] = Object.values(AF);

export function isKnownAfCode(code: string | undefined): code is AfCode {
  return code !== undefined && AF_CODES.includes(code);
}

/**
 * An ApiError's code: a documented AF code; API_UNKNOWN_AF for an AF code the runtime does not
 * know (the raw code stays in `afCode`); API_HTTP for a failure without one; API_BAD_ANSWER for
 * a success whose body is not what the API documents.
 */
export type ApiErrorCode = AfCode | "API_UNKNOWN_AF" | "API_HTTP" | "API_BAD_ANSWER";

/** Every code a runtime error can have: logs, metrics and exit handling switch on these. */
export type ErrorCode =
  | ApiErrorCode
  | "CONFIG"
  | "TRANSPORT"
  | "AUTH"
  | "STORAGE"
  | "USAGE"
  | "LEASE"
  | "LEASE_HELD"
  | "FOREIGN_URI"
  | "LISTING_CUT"
  | "BAD_CONTENT"
  | "DATAVERSE";

/**
 * One error family for the runtime. Every error has a stable `code` (for logs, metrics and exit
 * codes), keeps its cause, and says in its message what failed and what to do about it.
 */
export class SyncError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
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
  declare readonly code: ApiErrorCode;
  readonly status: number;
  /** The `AF…` code from the error body as sent, when the body had one (known or not). */
  readonly afCode: string | undefined;
  readonly url: string;
  constructor(
    init: { status: number; afCode?: string; url: string; message: string },
    options?: { cause?: unknown },
  ) {
    super(apiErrorCode(init.status, init.afCode), init.message, options);
    this.status = init.status;
    this.afCode = init.afCode;
    this.url = init.url;
  }
}

function apiErrorCode(status: number, afCode: string | undefined): ApiErrorCode {
  if (isKnownAfCode(afCode)) return afCode;
  if (afCode !== undefined) return "API_UNKNOWN_AF";
  return status >= 200 && status < 300 ? "API_BAD_ANSWER" : "API_HTTP";
}

/** The API throttled us (HTTP 429, or 403 with AF429). */
export class ThrottledError extends ApiError {
  /** From `Retry-After` when the answer had one. */
  readonly retryAfterMs: number | undefined;
  constructor(
    init: { status: number; afCode?: string; url: string; retryAfterMs?: number; message?: string },
    options?: { cause?: unknown },
  ) {
    super(
      {
        ...init,
        message:
          init.message ??
          `The service throttled the request (HTTP ${init.status}${init.afCode ? ` ${init.afCode}` : ""}); the runtime backs off and retries.`,
      },
      options,
    );
    this.retryAfterMs = init.retryAfterMs;
  }
}

/**
 * A content blob whose complete body is not a JSON array (not JSON, an object, garbage inside).
 * Retried like a transport failure (a proxy may have garbled one answer); if every attempt says
 * the same, the blob is quarantined and the pass goes on.
 */
export class BadContentError extends SyncError {
  readonly url: string;
  constructor(url: string, message: string, options?: { cause?: unknown }) {
    super("BAD_CONTENT", message, options);
    this.url = url;
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
  /** Entra's AADSTS error number, when the token endpoint answered one. */
  readonly aadsts?: string;
  constructor(message: string, options: { cause?: unknown; transient: boolean; aadsts?: string }) {
    super("AUTH", message, { cause: options.cause });
    this.transient = options.transient;
    this.aadsts = options.aadsts;
  }
}

/** Azure Storage (tables or blobs) failed. */
export class StorageError extends SyncError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("STORAGE", message, options);
  }
}

/**
 * The API handed us a URL (contentUri, NextPageUri) that is not on its own origin: refused, so
 * the bearer token never leaves for another host. Not retried. The URL is shown without its
 * query, which is all an operator needs to see where it pointed.
 */
export class ForeignUriError extends SyncError {
  readonly what: "contentUri" | "NextPageUri";
  constructor(
    what: "contentUri" | "NextPageUri",
    uri: string,
    readonly why: string,
    options?: { cause?: unknown },
  ) {
    super(
      "FOREIGN_URI",
      `The Management Activity API answered a ${what} that ${why} (${shownUri(uri)}); it is refused and no token is sent there. Check that AUDIT_AUDIENCE is the API root and that no proxy rewrites the answers.`,
      options,
    );
    this.what = what;
  }
}

/**
 * A content listing whose NextPageUri cannot be followed (not a URL, off the API's origin, or
 * the same page again): the pages before it were yielded, the rest of the window cannot be
 * listed. Retrying would meet the same answer and hold every later window back until it ages
 * out of the API's 7 days, so the pass keeps what it listed, records the window as a listing gap
 * and goes on. `why` is the reason as an operator reads it.
 */
export class ListingCutError extends SyncError {
  constructor(
    readonly contentType: string,
    readonly nextPageUri: string,
    readonly why: string,
    readonly pages: number,
    options?: { cause?: unknown },
  ) {
    super(
      "LISTING_CUT",
      `The content listing for ${contentType} ended after ${pages} page(s) at a NextPageUri that ${why} (${shownUri(nextPageUri)}); it is not followed and no token is sent there. Content listed later in this window may be missing: the window is recorded in the gaps table (npm run sync -- gaps); re-list it with once --from/--to when the API answers sanely again.`,
      options,
    );
  }
}

function shownUri(uri: string): string {
  try {
    const u = new URL(uri);
    return `${u.origin}${u.pathname}`;
  } catch {
    return JSON.stringify(uri.slice(0, 80));
  }
}

/** The one-writer lease could not be taken or was lost: the pass stops before its next write. */
export class LeaseError extends SyncError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("LEASE", message, options);
  }
}

/** Another runtime holds the lease and this pass was asked to skip rather than wait. */
export class LeaseHeldError extends SyncError {
  constructor() {
    super(
      "LEASE_HELD",
      "Another runtime holds the sync lease (a pass is running elsewhere); this pass is skipped and the next one tries again.",
    );
  }
}

/** Wrong command line; the CLI prints usage and exits with 2. */
export class UsageError extends SyncError {
  constructor(message: string) {
    super("USAGE", message);
  }
}

/** Dataverse refused or failed a write (the sink's own error: the Azure Storage archive goes on). */
export class DataverseError extends SyncError {
  readonly status: number;
  /** Dataverse's error code from the body (0x…), when it had one. */
  readonly dataverseCode: string | undefined;
  constructor(
    init: { status: number; dataverseCode?: string; message: string },
    options?: { cause?: unknown },
  ) {
    super("DATAVERSE", init.message, options);
    this.status = init.status;
    this.dataverseCode = init.dataverseCode;
  }
}
