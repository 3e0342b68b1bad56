/** Default for "apps not launched for N days". */
export const DEFAULT_STALE_DAYS = 30;

/**
 * A stale-days value a report can use; anything else is the caller's mistake, a RangeError (the
 * CLI says it in its own words, as a usage error).
 */
export function validateStaleDays(staleDays: number): number {
  if (!Number.isFinite(staleDays) || staleDays <= 0) {
    throw new RangeError(
      `staleDays must be a positive number of days, got ${String(staleDays)}; pass e.g. 30.`,
    );
  }
  return staleDays;
}
