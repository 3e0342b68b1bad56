/**
 * Pure formatting for sync progress: rate, ETA, durations and the progress line itself. Time is
 * always passed in (`nowMs`), so these are tested with a fake clock and reused by both the
 * terminal and the log renderer.
 */
import { formatCount } from "../report/render-text";
import type { ProgressSnapshot } from "../../domain/progress-snapshot";

// Below this, a rate is mostly start-up noise (token fetch, first listing) and would mislead.
const MIN_ELAPSED_FOR_RATE_MS = 1000;

/** "42s", "3m 05s", "1h 02m", "2d 03h": two units at most, so the line stays short. */
export function formatDuration(ms: number): string {
  const totalSeconds = Math.max(0, Math.round(ms / 1000));
  const days = Math.floor(totalSeconds / 86_400);
  const hours = Math.floor((totalSeconds % 86_400) / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  const two = (n: number) => String(n).padStart(2, "0");
  if (days > 0) return `${days}d ${two(hours)}h`;
  if (hours > 0) return `${hours}h ${two(minutes)}m`;
  if (minutes > 0) return `${minutes}m ${two(seconds)}s`;
  return `${seconds}s`;
}

/** Records per second since the pass started; null until enough time has passed to mean much. */
export function recordsPerSecond(snapshot: ProgressSnapshot, nowMs: number): number | null {
  const elapsedMs = nowMs - snapshot.startedAt.getTime();
  if (elapsedMs < MIN_ELAPSED_FOR_RATE_MS) return null;
  return snapshot.recordsDone / (elapsedMs / 1000);
}

export function formatRate(perSecond: number | null): string {
  if (perSecond === null) return "— records/s";
  // Small rates keep a decimal so a slow start does not read as "0 records/s".
  const value = perSecond < 10 ? perSecond.toFixed(1) : formatCount(Math.round(perSecond));
  return `${value} records/s`;
}

/**
 * How much of the pass is done, 0..1, or null when nothing tells yet. Finished windows are the
 * steadier measure (each is a similar slice of time). Before the first window finishes, blobs
 * done out of blobs listed so far estimate that window's share; this holds whether the pass counts
 * blobs per window or for the whole pass, since both agree during the first window. The blob share
 * is optimistic while pages are still being listed; the ETA corrects itself as blobsKnown grows.
 */
export function progressFraction(snapshot: ProgressSnapshot): number | null {
  const { windowsDone, windowsTotal, blobsDone, blobsKnown, days } = snapshot;
  // The Graph source stores days out of order, many at once: stored days are the measure.
  if (days && windowsTotal > 0) return days.stored > 0 ? days.stored / windowsTotal : null;
  if (windowsTotal > 0 && windowsDone >= windowsTotal) return 1;
  if (windowsDone > 0 && windowsTotal > 0) return windowsDone / windowsTotal;
  if (blobsKnown > 0 && blobsDone > 0) {
    const blobShare = Math.min(1, blobsDone / blobsKnown);
    return windowsTotal > 1 ? blobShare / windowsTotal : blobShare;
  }
  return null;
}

/** Estimated time left in ms (elapsed × remaining / done), or null when it cannot be estimated. */
export function estimateRemainingMs(snapshot: ProgressSnapshot, nowMs: number): number | null {
  const fraction = progressFraction(snapshot);
  if (fraction === null || fraction <= 0) return null;
  if (fraction >= 1) return 0;
  const elapsedMs = nowMs - snapshot.startedAt.getTime();
  if (elapsedMs < MIN_ELAPSED_FOR_RATE_MS) return null;
  return (elapsedMs * (1 - fraction)) / fraction;
}

export type ProgressState = "running" | "done" | "failed";

/**
 * One line: "Audit.General  windows 3/7  blobs 120/450  records 45,210  1,234 records/s
 * elapsed 1m 10s  ETA 2m 05s", or for the Graph source "graph  days 30 queried  10 running
 * 20/180 stored  records …". A finished pass reports its total time instead of an ETA.
 */
export function formatProgressLine(
  snapshot: ProgressSnapshot,
  nowMs: number,
  state: ProgressState = "running",
): string {
  const elapsed = formatDuration(nowMs - snapshot.startedAt.getTime());
  const { days } = snapshot;
  const parts = [
    snapshot.contentType,
    ...(days
      ? [
          `days ${formatCount(days.queried)} queried`,
          `${formatCount(days.running)} running`,
          `${formatCount(days.stored)}/${formatCount(snapshot.windowsTotal)} stored`,
        ]
      : [
          `windows ${formatCount(snapshot.windowsDone)}/${formatCount(snapshot.windowsTotal)}`,
          `blobs ${formatCount(snapshot.blobsDone)}/${formatCount(snapshot.blobsKnown)}`,
        ]),
    `records ${formatCount(snapshot.recordsDone)}`,
    formatRate(recordsPerSecond(snapshot, nowMs)),
  ];
  if (state === "running") {
    const remaining = estimateRemainingMs(snapshot, nowMs);
    parts.push(`elapsed ${elapsed}`, `ETA ${remaining === null ? "—" : formatDuration(remaining)}`);
  } else {
    parts.push(`${state} in ${elapsed}`);
  }
  return parts.join("  ");
}

/** Cuts a line to a terminal's width: a redrawn line that wraps cannot be redrawn in place. */
export function fitToColumns(line: string, columns: number | undefined): string {
  if (columns === undefined || columns <= 1 || line.length < columns) return line;
  return `${line.slice(0, columns - 2)}…`;
}
