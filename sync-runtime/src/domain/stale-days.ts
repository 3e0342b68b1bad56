import { UsageError } from "../core/errors";

/** Default for "apps not launched for N days". */
export const DEFAULT_STALE_DAYS = 30;

/** A stale-days value a report can use; anything else is the caller's mistake. */
export function validateStaleDays(staleDays: number): number {
  if (!Number.isFinite(staleDays) || staleDays <= 0) {
    throw new UsageError(
      `staleDays must be a positive number of days, got ${String(staleDays)}; pass e.g. 30.`,
    );
  }
  return staleDays;
}
