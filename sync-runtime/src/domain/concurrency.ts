/**
 * How many blobs a pass keeps in flight. By Little's law, keeping the API busy at the rate the
 * runtime allows itself takes (requests per second) x (seconds one blob takes) in flight: a fixed
 * number is either too few at high latency (the pass is latency-bound, under its quota) or more
 * than needed at low latency. The time per blob is a moving average of what blobs took, not
 * counting their wait for the rate limiter (counting it would feed a queue back into a bigger
 * target). A throttled answer halves the target at once; it then grows back by about one blob
 * per round of blobs, as TCP's congestion window does. Pure: no clock, the caller feeds samples.
 */
export interface ConcurrencyOptions {
  /** The most blobs in flight (AUDIT_BLOB_CONCURRENCY). */
  max: number;
  /** API requests per second the runtime allows itself. */
  ratePerSecond: number;
  /** Target before any blob has been timed. Default min(4, max). */
  initial?: number;
  /** Factor over the exact Little's-law number, for jitter in latency. Default 1.25. */
  headroom?: number;
  /** Weight of a new sample in the moving average. Default 0.2. */
  smoothing?: number;
}

export class ConcurrencyController {
  private readonly max: number;
  private readonly ratePerSecond: number;
  private readonly headroom: number;
  private readonly smoothing: number;
  private averageMs: number | undefined;
  private current: number;
  private readonly ceiling = new ThrottleCeiling();

  constructor(options: ConcurrencyOptions) {
    if (!(options.max >= 1)) throw new RangeError("max must be at least 1");
    if (!(options.ratePerSecond > 0)) throw new RangeError("ratePerSecond must be positive");
    this.max = Math.floor(options.max);
    this.ratePerSecond = options.ratePerSecond;
    this.headroom = options.headroom ?? 1.25;
    this.smoothing = options.smoothing ?? 0.2;
    this.current = clamp(options.initial ?? 4, 1, this.max);
  }

  /** Blobs to keep in flight now. */
  get target(): number {
    return this.current;
  }

  /** The moving average of the time one blob takes, ms (undefined before the first sample). */
  get blobMs(): number | undefined {
    return this.averageMs;
  }

  /**
   * One blob finished: `ms` is the time it took, rate limiter waits left out; `throttled` says
   * whether the API throttled any request since the last sample. Returns the new target.
   */
  observe(ms: number, throttled = false): number {
    const sample = Math.max(0, ms);
    this.averageMs =
      this.averageMs === undefined
        ? sample
        : this.averageMs + this.smoothing * (sample - this.averageMs);
    const ceiling = this.ceiling.observe(this.current, this.max, throttled);
    const littles = Math.ceil(this.ratePerSecond * (this.averageMs / 1000) * this.headroom);
    // At most doubling per sample, so one slow first blob (a new connection, a token) does not
    // open every slot at once.
    this.current = clamp(Math.min(littles, Math.floor(ceiling), this.current * 2), 1, this.max);
    return this.current;
  }
}

/**
 * The throttle half of the control: a throttled answer halves the ceiling at once (once per round
 * of tasks, since every task in flight meets the same throttle); each task that ends without one
 * raises it by 1/current, about one task per round, as TCP's congestion window grows back.
 * Infinity until the first throttle.
 */
export class ThrottleCeiling {
  private ceiling = Infinity;
  /** Tasks still to end before another throttle may lower the ceiling again. */
  private holdOff = 0;

  /** One task ended; `current` is the target it ran under. Returns the new ceiling. */
  observe(current: number, max: number, throttled: boolean): number {
    if (this.holdOff > 0) this.holdOff--;
    if (throttled && this.holdOff === 0) {
      this.ceiling = Math.max(1, Math.floor(current / 2));
      this.holdOff = current;
    } else if (!throttled && this.ceiling < max) {
      this.ceiling += 1 / Math.max(1, current);
    }
    return this.ceiling;
  }
}

/**
 * How many Microsoft Graph audit log queries a pass keeps queued or running. Unlike blobs, a
 * query's minutes are spent on Microsoft's side, not on the runtime's request rate, so Little's
 * law has nothing to size: the target is the configured number (a share of the tenant's queued
 * or running queries), lowered by half when Graph answers a submission with 429 and raised again
 * by about one query per round of queries that end without one.
 */
export class QueryConcurrency {
  private readonly ceiling = new ThrottleCeiling();
  private current: number;

  constructor(private readonly max: number) {
    if (!(max >= 1)) throw new RangeError("max must be at least 1");
    this.current = Math.floor(max);
  }

  /** Queries to keep in flight now. */
  get target(): number {
    return this.current;
  }

  /** Graph refused a submission (429): fewer queries in flight. Returns the new target. */
  throttled(): number {
    return this.update(true);
  }

  /** A query ended (stored) without a 429 since: more queries in flight, slowly. */
  succeeded(): number {
    return this.update(false);
  }

  private update(throttled: boolean): number {
    const ceiling = this.ceiling.observe(this.current, this.max, throttled);
    this.current = clamp(Math.min(ceiling, this.max), 1, this.max);
    return this.current;
  }
}

function clamp(n: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, Math.floor(n)));
}
