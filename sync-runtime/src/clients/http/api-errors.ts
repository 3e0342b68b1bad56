/**
 * The mapping from an HTTP answer to the runtime's error types (core/errors.ts): which error, and
 * the message that says what to do, from the status, the body and which API was called.
 */
import { AF, ApiError, isKnownAfCode, ThrottledError, type AfCode } from "../../core/errors";

/** What to do about each documented AF code; unknown codes fail loudly with the API's message. */
const ADVICE: Partial<Record<AfCode, string>> = {
  [AF.permissionMissing]:
    "The app has no ActivityFeed.Read permission or admin consent was not granted. " +
    "Run `pulumi up` (it grants the consent) or have an administrator grant admin consent " +
    "for the app in Entra ID (App registrations > API permissions), then retry.",
  [AF.noSubscription]:
    "No subscription exists for this content type. Run `npm run sync -- subscription start`.",
  [AF.subscriptionDisabled]:
    "The subscription for this content type is disabled. Run `npm run sync -- subscription start`.",
  [AF.alreadyEnabled]: "The subscription is already enabled (this is not a failure).",
  [AF.contentExpired]:
    "The content id is invalid or the content expired (content is kept 7 days). " +
    "It cannot be fetched again: its records are lost, and the runtime records it in the gaps table.",
  [AF.timeRules]:
    "The start/end time rules were broken (both or neither, at most 24 h apart, not older " +
    "than 7 days). This is a bug in the runtime's window planning: please report it.",
  [AF.internalError]: "The service had an internal error; the runtime retries it.",
};

export interface ErrorBody {
  code?: string;
  message?: string;
}

/** Reads `{"error":{"code":"AF…","message":"…"}}`; tolerates any other body. */
export function parseErrorBody(text: string): ErrorBody {
  try {
    const parsed = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    const error = parsed?.error;
    if (error && typeof error === "object") {
      return {
        code: typeof error.code === "string" ? error.code : undefined,
        message: typeof error.message === "string" ? error.message : undefined,
      };
    }
  } catch {
    // Not JSON: the raw text is still useful in the message below.
  }
  return { message: text.slice(0, 300) || undefined };
}

/** Parses `Retry-After` (delta seconds or an HTTP date) into milliseconds from `nowMs`. */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

/** Turns a non-2xx answer into the matching error, with advice for the documented AF codes. */
export function errorFromResponse(init: {
  status: number;
  bodyText: string;
  url: string;
  retryAfterMs?: number;
}): ApiError {
  const { status, url } = init;
  const body = parseErrorBody(init.bodyText);
  const afCode = body.code;
  if (status === 429 || afCode === AF.throttled) {
    return new ThrottledError({
      status,
      afCode,
      url: redactUrl(url),
      retryAfterMs: init.retryAfterMs,
      message: throttledMessage(url, status, afCode),
    });
  }
  const advice = isKnownAfCode(afCode) ? ADVICE[afCode] : undefined;
  const what = `${describeCall(url)} failed with HTTP ${status}${afCode ? ` ${afCode}` : ""}`;
  // The API's messages end with a period; ours adds the advice after one.
  const detail = body.message ? `: ${body.message.trim().replace(/\.+$/, "")}` : "";
  const todo =
    advice ??
    (status >= 500
      ? "The service failed; the runtime retries it."
      : status === 401
        ? "The token was refused: check AUDIT_TENANT_ID, AUDIT_CLIENT_ID and that AUDIT_AUDIENCE matches the cloud."
        : "Check the configuration named in the message; this error is not retried.");
  return new ApiError({
    status,
    afCode,
    url: redactUrl(url),
    message: `${what}${detail}. ${todo}`,
  });
}

/** What a throttled answer means, and what the runtime and the operator do about it. */
function throttledMessage(url: string, status: number, afCode: string | undefined): string {
  if (isGraphAuditCall(url)) {
    return (
      `Microsoft Graph throttled the audit log query call (HTTP ${status}). ` +
      "The runtime waits for Retry-After and retries; the tenant's audit log query limits are shared with every app that uses them."
    );
  }
  return (
    `The Management Activity API throttled the request (HTTP ${status}${afCode ? ` ${afCode}` : ""}). ` +
    "The runtime backs off and retries; if this persists, lower AUDIT_RATE_LIMIT_PER_MINUTE " +
    "or check that AUDIT_PUBLISHER_ID is set so the tenant has its own quota."
  );
}

/** Microsoft Graph's audit log query API (learn.microsoft.com, "security/auditLog/queries"). */
function isGraphAuditCall(url: string): boolean {
  try {
    return new URL(url).pathname.includes("/security/auditLog/");
  } catch {
    return false;
  }
}

/** Names the API operation without query strings (they can be long and carry no secrets, but add noise). */
function describeCall(url: string): string {
  try {
    const u = new URL(url);
    if (isGraphAuditCall(url)) return "Microsoft Graph audit log query call";
    const op = u.pathname.split("/activity/feed/")[1] ?? u.pathname;
    return `Management Activity API call ${op.startsWith("subscriptions") ? op : "content fetch"}`;
  } catch {
    return "Management Activity API call";
  }
}

/** Keeps scheme, host and path: enough to identify a call in a log line. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return "(invalid url)";
  }
}
