import { sleep } from "../../core/sleep";

/**
 * A token bucket: `ratePerMinute` tokens refill continuously, up to `burst`. Each request takes a
 * token, waiting when none is left, so the runtime stays under the tenant quota instead of
 * discovering it through throttling. Waiters are served in order.
 */
export class RateLimiter {
  private tokens: number;
  private last: number;
  private queue: Promise<void> = Promise.resolve();
  readonly ratePerMinute: number;
  readonly burst: number;
  private taken = 0;
  private waitedMs = 0;

  constructor(
    ratePerMinute: number,
    options: {
      burst?: number;
      nowMs?: () => number;
      sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
    } = {},
  ) {
    if (!(ratePerMinute > 0)) throw new RangeError("ratePerMinute must be positive");
    this.ratePerMinute = ratePerMinute;
    // A small burst (5 s worth) keeps startup fast without letting a minute's quota go at once.
    this.burst = options.burst ?? Math.max(1, Math.floor(ratePerMinute / 12));
    this.nowMs = options.nowMs ?? Date.now;
    this.sleepFn = options.sleep ?? sleep;
    this.tokens = this.burst;
    this.last = this.nowMs();
  }

  private readonly nowMs: () => number;
  private readonly sleepFn: (ms: number, signal?: AbortSignal) => Promise<void>;

  /** Tokens handed out so far, and the ms their takers waited in all: how long the queue is. */
  usage(): { taken: number; waitedMs: number } {
    return { taken: this.taken, waitedMs: this.waitedMs };
  }

  /** Resolves when the caller may send one request; rejects when `signal` aborts first. */
  take(signal?: AbortSignal): Promise<void> {
    const asked = this.nowMs();
    const turn = this.queue
      .then(() => this.waitForToken(signal))
      .then(() => {
        this.taken++;
        this.waitedMs += Math.max(0, this.nowMs() - asked);
      });
    // Keep the chain alive even if a waiter's sleep rejects.
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  private async waitForToken(signal?: AbortSignal): Promise<void> {
    // Bounded: each iteration either takes a token or sleeps exactly until one has refilled.
    for (let i = 0; i < 1000; i++) {
      signal?.throwIfAborted();
      this.refill();
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      const msPerToken = 60_000 / this.ratePerMinute;
      await this.sleepFn(Math.ceil((1 - this.tokens) * msPerToken), signal);
    }
    throw new Error("RateLimiter: no token after 1000 waits (clock not advancing?)");
  }

  private refill(): void {
    const now = this.nowMs();
    const elapsed = Math.max(0, now - this.last);
    this.last = now;
    this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.ratePerMinute) / 60_000);
  }
}
