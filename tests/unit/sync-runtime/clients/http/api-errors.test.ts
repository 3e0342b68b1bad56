import { describe, expect, it } from "vitest";
import {
  errorFromResponse,
  parseRetryAfter,
} from "../../../../../sync-runtime/src/clients/http/api-errors";
import { isRetryable } from "../../../../../sync-runtime/src/clients/http/retry";
import { ApiError, ThrottledError } from "../../../../../sync-runtime/src/core/errors";

const url =
  "https://manage.office.com/api/v1.0/t/activity/feed/subscriptions/content?contentType=Audit.General&PublisherIdentifier=t";
const body = (code: string, message: string) => JSON.stringify({ error: { code, message } });

describe("errorFromResponse", () => {
  it("explains AF10001 as missing consent and how to grant it", () => {
    const err = errorFromResponse({
      status: 401,
      bodyText: body(
        "AF10001",
        "The permission set () sent in the request does not include the expected permission.",
      ),
      url,
    });
    expect(err).toBeInstanceOf(ApiError);
    expect(err.afCode).toBe("AF10001");
    expect(err.code).toBe("AF10001");
    expect(err.message).toMatch(/admin consent/);
    expect(err.message).toMatch(/pulumi up/);
    expect(isRetryable(err)).toBe(false);
    expect(err.url).not.toContain("?");
  });

  it("maps 429 and 403 AF429 to ThrottledError with Retry-After", () => {
    const a = errorFromResponse({
      status: 403,
      bodyText: body("AF429", "Too many requests"),
      url,
      retryAfterMs: 3000,
    });
    expect(a).toBeInstanceOf(ThrottledError);
    expect((a as ThrottledError).retryAfterMs).toBe(3000);
    expect(errorFromResponse({ status: 429, bodyText: "", url })).toBeInstanceOf(ThrottledError);
    expect(isRetryable(a)).toBe(true);
  });

  it("retries 5xx and keeps the code of unknown 4xx in the message", () => {
    expect(
      isRetryable(errorFromResponse({ status: 500, bodyText: body("AF50000", "oops"), url })),
    ).toBe(true);
    const unknown = errorFromResponse({
      status: 400,
      bodyText: body("AF99999", "Something new"),
      url,
    });
    expect(unknown.message).toContain("AF99999");
    expect(unknown.message).toContain("Something new");
    expect(isRetryable(unknown)).toBe(false);
  });

  it("tells AF20022/AF20023 to start the subscription", () => {
    const err = errorFromResponse({
      status: 400,
      bodyText: body("AF20023", "The subscription was disabled."),
      url,
    });
    expect(err.message).toContain("subscription start");
  });
});

describe("parseRetryAfter", () => {
  it("reads seconds and HTTP dates", () => {
    expect(parseRetryAfter("5", 0)).toBe(5000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4000)).toBe(6000);
    expect(parseRetryAfter(null, 0)).toBeUndefined();
    expect(parseRetryAfter("soon", 0)).toBeUndefined();
  });
});

describe("errorFromResponse for Microsoft Graph's audit log query API", () => {
  const graphUrl = "https://graph.microsoft.com/v1.0/security/auditLog/queries";
  const graphBody = (code: string, message: string) =>
    JSON.stringify({ error: { code, message, innerError: { "request-id": "r" } } });

  it("names Graph, not the Management API, in throttling and other errors", () => {
    const throttled = errorFromResponse({
      status: 429,
      bodyText: graphBody("TooManyRequests", "Too many requests."),
      url: graphUrl,
      retryAfterMs: 30_000,
    });
    expect(throttled).toBeInstanceOf(ThrottledError);
    expect((throttled as ThrottledError).retryAfterMs).toBe(30_000);
    expect(throttled.message).toMatch(/^Microsoft Graph throttled/);
    expect(throttled.message).not.toMatch(/Management Activity API|PUBLISHER/);
    const bad = errorFromResponse({
      status: 400,
      bodyText: graphBody("BadRequest", "Resource not found for the segment 'auditLog'."),
      url: graphUrl,
    });
    expect(bad.message).toMatch(/^Microsoft Graph audit log query call failed with HTTP 400/);
    expect(bad.message).toContain("segment 'auditLog'");
    expect(isRetryable(bad)).toBe(false);
  });
});
