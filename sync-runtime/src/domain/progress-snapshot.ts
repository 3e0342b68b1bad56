/**
 * What a sync pass tells its observer while it runs. The pass only emits snapshots; how they are
 * shown (a redrawn terminal line with rate and ETA, or plain log lines when not a TTY) is the
 * progress renderer's business.
 */
export interface ProgressSnapshot {
  contentType: string;
  windowsDone: number;
  windowsTotal: number;
  blobsDone: number;
  /** Blobs listed so far; grows while pages are still being listed. */
  blobsKnown: number;
  recordsDone: number;
  /** Start of the pass, for rate and ETA. */
  startedAt: Date;
  /**
   * The Graph source's days (windowsTotal of them): whose query was submitted or re-attached, in
   * flight now (submitted, running or being stored), and stored. windowsDone counts the days the
   * checkpoint has passed.
   */
  days?: { queried: number; running: number; stored: number };
}
