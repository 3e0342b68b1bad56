import { ApiError, BadContentError, ThrottledError, TransportError } from "../../core/errors";
import { sleep } from "../../core/sleep";

/** How the runtime retries one request. Every field has a default; every loop is bounded by it. */
export interface RetryPolicy {
  /** Retries after the first attempt (so at most maxRetries + 1 attempts). */
  maxRetries: number;
  minDelayMs: number;
  maxDelayMs: number;
  factor: number;
  /** A Retry-After longer than this is capped (a broken header must not stall a pass for hours). */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxRetries: 6,
  minDelayMs: 500,
  maxDelayMs: 60_000,
  factor: 2,
  maxRetryAfterMs: 5 * 60_000,
};

/**
 * Delay before retry number `attempt` (1-based). Retry-After wins when the server gave one;
 * otherwise exponential backoff with "full jitter" (uniform in [min, cap]) so that many clients
 * throttled at once do not retry in lockstep.
 */
export function retryDelayMs(
  policy: RetryPolicy,
  attempt: number,
  err: unknown,
  random: () => number = Math.random,
): number {
  if (err instanceof ThrottledError && err.retryAfterMs !== undefined) {
    return Math.min(err.retryAfterMs, policy.maxRetryAfterMs);
  }
  const cap = Math.min(policy.maxDelayMs, policy.minDelayMs * policy.factor ** (attempt - 1));
  return Math.round(policy.minDelayMs + random() * Math.max(0, cap - policy.minDelayMs));
}

/**
 * Whether an API error is worth retrying: throttling, 5xx and transport failures are, and a
 * content body that is not a JSON array (a proxy may have garbled one answer); the rest not.
 * Token failures are retried inside auth.ts only, so retries never multiply.
 */
export function isRetryable(err: unknown): boolean {
  if (err instanceof ThrottledError || err instanceof TransportError) return true;
  if (err instanceof BadContentError) return true;
  if (err instanceof ApiError) return err.status >= 500 || err.status === 408;
  return false;
}

export interface RetryHooks {
  onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
  signal?: AbortSignal;
  /** Which errors to retry. Default: isRetryable (throttling, 5xx, transport failures). */
  retryable?: (err: unknown) => boolean;
}

/** Runs `fn` until it succeeds, fails with a non-retryable error, or the policy's retries run out. */
export async function withRetry<T>(
  policy: RetryPolicy,
  fn: (attempt: number) => Promise<T>,
  hooks: RetryHooks = {},
): Promise<T> {
  const sleepFn = hooks.sleep ?? sleep;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      // A failure caused by stopping (the request was aborted) is the stop, not an API error.
      if (hooks.signal?.aborted) throw hooks.signal.reason ?? err;
      const retryable = (hooks.retryable ?? isRetryable)(err);
      if (!retryable || attempt >= policy.maxRetries) throw err;
      const delayMs = retryDelayMs(policy, attempt + 1, err, hooks.random);
      hooks.onRetry?.({ attempt: attempt + 1, delayMs, error: err });
      await sleepFn(delayMs, hooks.signal);
    }
  }
}
