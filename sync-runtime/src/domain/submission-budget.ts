/**
 * The Graph source's query submissions over a rolling 24 hours, against its budget. Microsoft
 * Graph gives each tenant an allocation of audit log query submissions per 24 hours (at least
 * 200; learn.microsoft.com/graph/throttling-limits#security-audit-log-query-service-limits) and
 * answers 429 beyond it, for hours. The runtime keeps its own count below a share of that, so it
 * never meets the limit and leaves the rest to the tenant's other users. Pure: times are passed in.
 */
export const SUBMISSION_WINDOW_MS = 24 * 3_600_000;

export class SubmissionBudget {
  /** Submission times (ms) inside the window, oldest first. */
  private readonly times: number[];

  constructor(
    readonly limit: number,
    times: readonly number[] = [],
  ) {
    if (!(limit >= 1)) throw new RangeError("limit must be at least 1");
    this.times = [...times].sort((a, b) => a - b);
  }

  /** Submissions that count at `nowMs`. */
  used(nowMs: number): number {
    this.forget(nowMs);
    return this.times.length;
  }

  /**
   * Takes one submission at `nowMs` and returns 0, or returns how many ms until one is free (the
   * oldest submission leaves the 24 hours) and takes nothing.
   */
  take(nowMs: number): number {
    this.forget(nowMs);
    if (this.times.length >= this.limit) return this.times[0] + SUBMISSION_WINDOW_MS - nowMs;
    this.times.push(nowMs);
    return 0;
  }

  /** Gives back a submission taken at `atMs` that Graph did not accept. */
  give(atMs: number): void {
    const i = this.times.lastIndexOf(atMs);
    if (i >= 0) this.times.splice(i, 1);
  }

  private forget(nowMs: number): void {
    let old = 0;
    while (old < this.times.length && this.times[old] <= nowMs - SUBMISSION_WINDOW_MS) old++;
    if (old > 0) this.times.splice(0, old);
  }
}
