import type { Agent } from "node:https";
import fetch, { type Response } from "node-fetch";
import { errorFromResponse, parseRetryAfter, redactUrl } from "./api-errors";
import { ThrottledError, TransportError } from "../../core/errors";
import type { Logger } from "../../core/log";
import { silentLogger } from "../../core/log";
import type { Metrics } from "../../core/metrics";
import { RateLimiter } from "./limiter";
import { DEFAULT_RETRY_POLICY, withRetry, type RetryPolicy } from "./retry";

export interface HttpClientOptions {
  /** For a private CA (the emulator's) in-process; child processes use NODE_EXTRA_CA_CERTS. */
  agent?: Agent;
  timeoutMs?: number;
  limiter?: RateLimiter;
  retry?: Partial<RetryPolicy>;
  metrics?: Metrics;
  logger?: Logger;
  /** How backoff waits; tests pass one that records the delay instead of waiting it out. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface SendOptions {
  method?: "GET" | "POST";
  headers?: Record<string, string>;
  body?: string;
  /** Skip the rate limiter (token endpoint calls do not count against the API quota). */
  unlimited?: boolean;
  /** Return non-2xx answers instead of throwing (msal reads token errors itself). */
  acceptAnyStatus?: boolean;
  signal?: AbortSignal;
}

/**
 * node-fetch with the runtime's rules: one timeout covering headers and body, the rate limiter,
 * non-2xx answers mapped to typed errors, network failures to TransportError. `send` is one
 * attempt; `retrying` wraps a whole operation (request and body consumption) in the retry policy,
 * because a truncated body must be fetched again from the start.
 */
export class HttpClient {
  readonly agent: Agent | undefined;
  readonly timeoutMs: number;
  readonly policy: RetryPolicy;
  private readonly limiter: RateLimiter | undefined;
  private readonly metrics: Metrics | undefined;
  private readonly logger: Logger;
  private readonly sleep: ((ms: number, signal?: AbortSignal) => Promise<void>) | undefined;
  private throttledAnswers = 0;

  constructor(options: HttpClientOptions = {}) {
    this.agent = options.agent;
    this.timeoutMs = options.timeoutMs ?? 120_000;
    this.limiter = options.limiter;
    this.policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.metrics = options.metrics;
    this.logger = options.logger ?? silentLogger;
    this.sleep = options.sleep;
  }

  async send(url: string, options: SendOptions = {}): Promise<Response> {
    if (!options.unlimited) await this.limiter?.take(options.signal);
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
    this.metrics?.inc("audit_http_requests_total");
    let response: Response;
    try {
      response = await fetch(url, {
        method: options.method ?? "GET",
        headers: options.headers,
        body: options.body,
        agent: this.agent,
        signal,
      });
    } catch (cause) {
      // Stopped on purpose (SIGTERM, a lost lease): say why, not "the operation was aborted".
      if (options.signal?.aborted) throw options.signal.reason ?? cause;
      throw new TransportError(
        redactUrl(url),
        `Request to ${redactUrl(url)} failed (${describe(cause)}); it is retried.`,
        { cause },
      );
    }
    if (response.ok || options.acceptAnyStatus) return response;
    const bodyText = await response.text().catch(() => "");
    const error = errorFromResponse({
      status: response.status,
      bodyText,
      url,
      retryAfterMs: parseRetryAfter(response.headers.get("retry-after"), Date.now()),
    });
    if (error instanceof ThrottledError) {
      this.throttledAnswers++;
      this.metrics?.inc("audit_throttled_total");
    }
    throw error;
  }

  /**
   * Running totals of this client's traffic: rate limiter tokens taken, ms their takers waited,
   * throttled answers. What a caller that paces itself by the client (the pass's adaptive pool)
   * reads, instead of the metrics registry.
   */
  traffic(): { taken: number; waitedMs: number; throttled: number } {
    const { taken, waitedMs } = this.limiter?.usage() ?? { taken: 0, waitedMs: 0 };
    return { taken, waitedMs, throttled: this.throttledAnswers };
  }

  /** Runs a whole operation under the retry policy, counting and logging each retry. */
  retrying<T>(
    what: string,
    fn: (attempt: number) => Promise<T>,
    options: {
      signal?: AbortSignal;
      retryable?: (err: unknown) => boolean;
      /** Overrides of this client's policy for this operation (a slower, longer wait). */
      policy?: Partial<RetryPolicy>;
    } = {},
  ): Promise<T> {
    return withRetry({ ...this.policy, ...options.policy }, fn, {
      signal: options.signal,
      sleep: this.sleep,
      retryable: options.retryable,
      onRetry: ({ attempt, delayMs, error }) => {
        this.metrics?.inc("audit_http_retries_total");
        this.logger.warn("retrying", {
          what,
          attempt,
          delayMs,
          error: error instanceof Error ? error : String(error),
        });
      },
    });
  }
}

/** Wraps body-reading failures (reset, truncation, timeout mid-body) as retryable. */
export function bodyError(url: string, cause: unknown): TransportError {
  return new TransportError(
    redactUrl(url),
    `Reading the answer from ${redactUrl(url)} failed (${describe(cause)}); it is retried.`,
    { cause },
  );
}

/** A JSON answer's body; a body cut off or not JSON is retried like any transport failure. */
export async function readJson(r: Response, url: string): Promise<unknown> {
  let text: string;
  try {
    text = await r.text();
  } catch (err) {
    throw bodyError(url, err);
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    // A cut-off body is the usual reason.
    throw new TransportError(
      redactUrl(url),
      `The answer from ${redactUrl(url)} is not valid JSON (truncated?); it is retried.`,
      { cause },
    );
  }
}

function describe(cause: unknown): string {
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return code ? `${code}: ${cause.message}` : cause.message;
  }
  return String(cause);
}
