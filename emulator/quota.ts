/**
 * Requests per minute per PublisherIdentifier, as a sliding one-minute log of accepted calls.
 * Calls without a PublisherIdentifier share one smaller quota, as they share it with every other
 * caller of the real service. Real time: throttling is about a client's real request rate.
 */
export const SHARED_PUBLISHER = "00000000-0000-0000-0000-000000000000";
const WINDOW_MS = 60_000;

export class Quota {
  private readonly logs = new Map<string, number[]>();

  constructor(
    private readonly perMinute: number,
    private readonly sharedPerMinute: number,
  ) {}

  /** Records the call and returns 0, or returns how many ms until one would be accepted. */
  take(publisher: string | undefined, nowMs = Date.now()): number {
    const key = publisher ? publisher.toLowerCase() : SHARED_PUBLISHER;
    const limit = publisher ? this.perMinute : this.sharedPerMinute;
    let log = this.logs.get(key);
    if (!log) {
      log = [];
      this.logs.set(key, log);
    }
    let expired = 0;
    while (expired < log.length && log[expired] <= nowMs - WINDOW_MS) expired++;
    if (expired > 0) log.splice(0, expired);
    if (log.length >= limit) return log[0] + WINDOW_MS - nowMs;
    log.push(nowMs);
    return 0;
  }
}
