/**
 * The API's rules for content listing (learn.microsoft.com, "Office 365 Management Activity API
 * reference", List available content: startTime and endTime together, at most 24 hours apart,
 * at most 7 days in the past).
 */
export const MAX_WINDOW_MS = 24 * 3_600_000;
export const RETENTION_MS = 7 * 24 * 3_600_000;
/**
 * Start this far inside the 7 days, so a request planned at `now` is still valid when it reaches
 * the service (clock skew, queueing behind the rate limiter).
 */
export const RETENTION_SAFETY_MS = 10 * 60_000;

export interface Interval {
  from: Date;
  to: Date;
}

export interface PassPlan extends Interval {
  windows: Interval[];
  /** Checkpoint older than the API's 7 days: the interval that can never be fetched. */
  gap?: Interval;
  /** An explicit start older than 7 days was moved to the oldest allowed time. */
  clampedFrom?: Date;
  /** Whether finishing these windows extends the checkpoint without leaving a hole behind it. */
  advancesCheckpoint: boolean;
}

/** `YYYY-MM-DDTHH:MM:SS` in UTC: the most precise form the API documents. */
export function formatApiTime(d: Date): string {
  return d.toISOString().slice(0, 19);
}

export function oldestAllowed(now: Date, retentionMs = RETENTION_MS): Date {
  return ceilSecond(new Date(now.getTime() - retentionMs + RETENTION_SAFETY_MS));
}

/**
 * Plans one pass for one content type. Without an explicit start it resumes from the checkpoint
 * minus the overlap (content listed late is caught; already processed blobs are skipped by id),
 * or covers `firstRunMs` on a first run. Anything older than the API's 7 days is reported as a
 * gap — from the checkpoint (what was really missed), not from the overlap — and skipped.
 */
export function planPass(input: {
  now: Date;
  checkpoint?: Date;
  requestedFrom?: Date;
  requestedTo?: Date;
  overlapMs: number;
  firstRunMs: number;
  /** How far back the source serves records. Default the Management API's 7 days. */
  retentionMs?: number;
}): PassPlan {
  const { now, checkpoint } = input;
  const to = floorSecond(new Date(Math.min((input.requestedTo ?? now).getTime(), now.getTime())));
  const wanted =
    input.requestedFrom ??
    (checkpoint
      ? new Date(checkpoint.getTime() - input.overlapMs)
      : new Date(to.getTime() - input.firstRunMs));
  const oldest = oldestAllowed(now, input.retentionMs);
  // Only a checkpoint proves data was missed; an old explicit --from is just clamped.
  const gap =
    !input.requestedFrom && checkpoint && checkpoint < oldest
      ? { from: checkpoint, to: oldest }
      : undefined;
  const clampedFrom =
    input.requestedFrom && input.requestedFrom < oldest ? input.requestedFrom : undefined;
  const from = floorSecond(new Date(Math.max(wanted.getTime(), oldest.getTime())));
  const windows: Interval[] = [];
  for (let start = from.getTime(); start < to.getTime(); start += MAX_WINDOW_MS) {
    windows.push({
      from: new Date(start),
      to: new Date(Math.min(start + MAX_WINDOW_MS, to.getTime())),
    });
  }
  const advancesCheckpoint =
    checkpoint === undefined || wanted.getTime() <= checkpoint.getTime() || gap !== undefined;
  return { from, to, windows, gap, clampedFrom, advancesCheckpoint };
}

function floorSecond(d: Date): Date {
  return new Date(Math.floor(d.getTime() / 1000) * 1000);
}

function ceilSecond(d: Date): Date {
  return new Date(Math.ceil(d.getTime() / 1000) * 1000);
}
