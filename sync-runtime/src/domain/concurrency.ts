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
  /** Lowered by throttling, raised again as blobs succeed; Infinity until a throttle. */
  private ceiling = Infinity;
  /** Blobs still to finish before another throttle may lower the target again. */
  private holdOff = 0;

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
    if (this.holdOff > 0) this.holdOff--;
    if (throttled && this.holdOff === 0) {
      // Every request in flight meets the same throttle: one halving per round of blobs.
      this.ceiling = Math.max(1, Math.floor(this.current / 2));
      this.holdOff = this.current;
    } else if (!throttled && this.ceiling < this.max) {
      this.ceiling += 1 / Math.max(1, this.current);
    }
    const littles = Math.ceil(this.ratePerSecond * (this.averageMs / 1000) * this.headroom);
    // At most doubling per sample, so one slow first blob (a new connection, a token) does not
    // open every slot at once.
    this.current = clamp(
      Math.min(littles, Math.floor(this.ceiling), this.current * 2),
      1,
      this.max,
    );
    return this.current;
  }
}

function clamp(n: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, Math.floor(n)));
}
