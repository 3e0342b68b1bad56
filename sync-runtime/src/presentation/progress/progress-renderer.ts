/**
 * Shows a sync pass's progress snapshots on a stream. On a terminal: one line redrawn in place, a
 * few times per second at most, ended with a newline. Elsewhere (a pipe, a container log): plain
 * lines at most every `logIntervalMs`, plus one when the pass ends, so logs stay readable.
 * The text itself comes from progress-format.ts; this module only decides when and how to write.
 */
import { fitToColumns, formatProgressLine, type ProgressState } from "./progress-format";
import type { ProgressSnapshot } from "../../domain/progress-snapshot";

/** The part of a writable stream the renderer uses (process.stderr fits). */
export interface ProgressOutput {
  write(chunk: string): unknown;
  /** Terminal width, when known; a redrawn line longer than it would wrap and pile up. */
  columns?: number;
}

export interface ProgressRendererOptions {
  stream: ProgressOutput;
  /** Usually `stream.isTTY === true`; decides between the redrawn line and log lines. */
  isTTY: boolean;
  /** Clock in ms. Default Date.now. */
  now?: () => number;
  /** Terminal: least time between redraws. Default 250 ms (four per second). */
  redrawIntervalMs?: number;
  /** Not a terminal: least time between log lines. Default 10 s. */
  logIntervalMs?: number;
}

export interface ProgressRenderer {
  /** Records the latest snapshot and shows it if the throttle allows (or soon after, on a TTY). */
  update(snapshot: ProgressSnapshot): void;
  /** Shows the final state and ends the line; call it on success and on failure alike. */
  finish(state?: Exclude<ProgressState, "running">): void;
}

export const DEFAULT_REDRAW_INTERVAL_MS = 250;
export const DEFAULT_LOG_INTERVAL_MS = 10_000;

// Erase from the cursor to the end of the line: a shorter line must not leave the tail of a
// longer earlier one behind.
const CLEAR_TO_END = "\u001b[K";

export function createProgressRenderer(options: ProgressRendererOptions): ProgressRenderer {
  const { stream, isTTY } = options;
  const now = options.now ?? Date.now;
  const interval = isTTY
    ? (options.redrawIntervalMs ?? DEFAULT_REDRAW_INTERVAL_MS)
    : (options.logIntervalMs ?? DEFAULT_LOG_INTERVAL_MS);

  let latest: ProgressSnapshot | undefined;
  let shown: ProgressSnapshot | undefined;
  let lastWriteAt = Number.NEGATIVE_INFINITY;
  let timer: NodeJS.Timeout | undefined;

  const write = (snapshot: ProgressSnapshot, state: ProgressState) => {
    const line = formatProgressLine(snapshot, now(), state);
    if (isTTY) {
      stream.write(`\r${fitToColumns(line, stream.columns)}${CLEAR_TO_END}`);
    } else {
      stream.write(`progress: ${line}\n`);
    }
    shown = snapshot;
    lastWriteAt = now();
  };

  const cancelTimer = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  };

  // Ends the current line for a content type (or the whole pass) with its final figures.
  const end = (state: Exclude<ProgressState, "running">) => {
    cancelTimer();
    if (latest === undefined) return;
    write(latest, state);
    if (isTTY) stream.write("\n");
    latest = undefined;
    shown = undefined;
    lastWriteAt = Number.NEGATIVE_INFINITY;
  };

  return {
    update(snapshot) {
      if (latest !== undefined && latest.contentType !== snapshot.contentType) {
        // A pass syncs content types one after another: keep a finished line for each.
        end("done");
      }
      latest = snapshot;
      const wait = lastWriteAt + interval - now();
      if (wait <= 0) {
        cancelTimer();
        write(snapshot, "running");
      } else if (isTTY && timer === undefined) {
        // Throttled: draw the newest snapshot when the interval is over, so a pause in updates
        // (e.g. waiting out a 429) never leaves stale figures on screen. Log lines need no such
        // catch-up: the next line or the final one carries the newest figures.
        timer = setTimeout(() => {
          timer = undefined;
          if (latest !== undefined && latest !== shown) write(latest, "running");
        }, wait);
        timer.unref();
      }
    },
    finish(state = "done") {
      end(state);
    },
  };
}
