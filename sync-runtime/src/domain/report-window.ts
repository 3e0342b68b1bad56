/**
 * The window of "the last N days" (`report --days N`, serve's report files): today so far and
 * the N − 1 UTC days before it, so every day but today is whole. A whole day is answered by its
 * rollups alone; a window starting mid-day would read that day's events on every report.
 */
export function lastDays(now: Date, days: number): { from: Date; to: Date } {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return { from: new Date(today - (days - 1) * 86_400_000), to: now };
}
