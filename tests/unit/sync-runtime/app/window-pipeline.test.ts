import { describe, expect, it } from "vitest";
import {
  syncWindows,
  type PaceTotals,
  type WindowsOptions,
  type WindowWork,
} from "../../../../sync-runtime/src/app/window-pipeline";
import type { BlobOutcome } from "../../../../sync-runtime/src/app/content-blob";
import { ListingCutError } from "../../../../sync-runtime/src/core/errors";
import { silentLogger } from "../../../../sync-runtime/src/core/log";
import type { ContentItem } from "../../../../sync-runtime/src/domain/content";
import type { Interval } from "../../../../sync-runtime/src/domain/windows";

const HOUR = 3_600_000;
const START = Date.parse("2026-05-20T00:00:00Z");
const CONTENT_TYPE = "Audit.General";

/** `n` consecutive one-hour windows. */
function windows(n: number): Interval[] {
  return Array.from({ length: n }, (_, i) => ({
    from: new Date(START + i * HOUR),
    to: new Date(START + (i + 1) * HOUR),
  }));
}

function item(window: number, blob: number): ContentItem {
  const created = new Date(START + window * HOUR + blob * 60_000).toISOString();
  return {
    contentType: CONTENT_TYPE,
    contentId: `w${window}-b${blob}`,
    contentUri: `https://api.test/content/w${window}-b${blob}`,
    contentCreated: created,
    contentExpiration: created,
  };
}

const processed: BlobOutcome = {
  status: "processed",
  stats: { records: 2, launches: 1, deletes: 0, unparsed: 0, duplicates: 0 },
};

/** A checkpoint kept in memory, as storage/checkpoints.ts keeps it in a table: only forward. */
class MemoryCheckpoint {
  syncedTo: Date | undefined;
  readonly writes: string[] = [];
  async advance(to: Date): Promise<Date> {
    // A write takes a turn of the event loop, as a table write does.
    await new Promise((r) => setImmediate(r));
    if (!this.syncedTo || to > this.syncedTo) this.syncedTo = to;
    this.writes.push(to.toISOString());
    return this.syncedTo;
  }
}

/** A promise settled from outside: a blob whose store ends when the test says so. */
function gate<T>(): { promise: Promise<T>; open: (v: T) => void; fail: (e: unknown) => void } {
  let open!: (v: T) => void;
  let fail!: (e: unknown) => void;
  const promise = new Promise<T>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  return { promise, open, fail };
}

/**
 * The pipeline over in-memory work: each window lists `perWindow` blobs in one page; a blob with
 * a gate in `held` is stored when its gate opens, the others at once.
 */
function setUp(
  count: number,
  perWindow: number,
  held: Map<string, Promise<BlobOutcome>> = new Map(),
): { checkpoint: MemoryCheckpoint; work: WindowWork; planned: Interval[] } {
  const planned = windows(count);
  const checkpoint = new MemoryCheckpoint();
  const work: WindowWork = {
    async *list(window) {
      const index = planned.indexOf(window);
      yield Array.from({ length: perWindow }, (_, b) => item(index, b));
    },
    storeBlob: (blob) => held.get(blob.contentId) ?? Promise.resolve(processed),
    commit: (window) => checkpoint.advance(window.to),
    recordListingCut: async () => {},
  };
  return { checkpoint, work, planned };
}

function options(
  planned: Interval[],
  work: WindowWork,
  extra: Partial<WindowsOptions> = {},
): WindowsOptions {
  return {
    contentType: CONTENT_TYPE,
    windows: planned,
    work,
    blobConcurrency: 4,
    logger: silentLogger,
    ...extra,
  };
}

describe("the window pipeline's commit order", () => {
  it("commits no window past one with a blob in flight, then every window in order", async () => {
    const slow = gate<BlobOutcome>();
    const { checkpoint, work, planned } = setUp(3, 3, new Map([["w0-b0", slow.promise]]));
    let blobsDone = 0;
    const allButSlow = gate<void>();
    const run = syncWindows(
      options(planned, work, {
        onProgress: (s) => {
          blobsDone = s.blobsDone;
          if (s.blobsDone === 8) allButSlow.open();
        },
      }),
    );
    await allButSlow.promise;
    // Windows 1 and 2 are stored in full; window 0 holds one blob: nothing may be committed.
    await new Promise((r) => setTimeout(r, 20));
    expect(blobsDone).toBe(8);
    expect(checkpoint.writes).toEqual([]);

    slow.open(processed);
    const counts = await run;
    expect(checkpoint.writes).toEqual(planned.map((w) => w.to.toISOString()));
    expect(counts.checkpoint).toBe(planned[2]!.to.toISOString());
    expect(counts).toMatchObject({ blobsListed: 9, blobsProcessed: 9, records: 18, launches: 9 });
  });

  it("writes no checkpoint after a stop, though later windows are stored, and ends with the stop's reason", async () => {
    const { checkpoint, work, planned } = setUp(3, 2);
    const stop = new AbortController();
    const reason = new Error("received SIGTERM");
    // Window 0's checkpoint write is in flight when the pass is stopped; it ends, no other starts.
    const firstWrite = gate<void>();
    const commit = work.commit!;
    work.commit = async (window, signal) => {
      if (window === planned[0]) await firstWrite.promise;
      return commit(window, signal);
    };
    const run = syncWindows(
      options(planned, work, {
        signal: stop.signal,
        onProgress: (s) => {
          if (s.blobsDone === 6 && !stop.signal.aborted) {
            stop.abort(reason);
            firstWrite.open();
          }
        },
      }),
    );
    await expect(run).rejects.toBe(reason);
    expect(checkpoint.writes).toEqual([planned[0]!.to.toISOString()]);
  });

  it("stops at a failed blob, still committing the windows finished before it", async () => {
    const failing = gate<BlobOutcome>();
    const { checkpoint, work, planned } = setUp(3, 2, new Map([["w1-b1", failing.promise]]));
    const commit = work.commit!;
    // The failure comes once window 0 is committed, so the order of events is fixed.
    work.commit = async (window, signal) => {
      const at = await commit(window, signal);
      if (window === planned[0]) failing.fail(new Error("table write failed"));
      return at;
    };
    await expect(syncWindows(options(planned, work))).rejects.toThrow("table write failed");
    expect(checkpoint.writes).toEqual([planned[0]!.to.toISOString()]);
  });

  it("records a cut listing and moves the checkpoint past its window", async () => {
    const { checkpoint, work, planned } = setUp(2, 1);
    const cuts: Interval[] = [];
    const list = work.list;
    work.list = async function* (window, signal) {
      yield* list(window, signal);
      if (window === planned[0]) {
        throw new ListingCutError(CONTENT_TYPE, "https://elsewhere.test/next", "is off-origin", 1);
      }
    };
    work.recordListingCut = async (window) => {
      cuts.push(window);
    };
    const counts = await syncWindows(options(planned, work));
    expect(cuts).toEqual([planned[0]]);
    expect(counts.listingsCut).toBe(1);
    expect(checkpoint.writes).toEqual(planned.map((w) => w.to.toISOString()));
  });

  it("moves no checkpoint when the plan does not (no commit)", async () => {
    const { checkpoint, work, planned } = setUp(2, 2);
    delete work.commit;
    const counts = await syncWindows(options(planned, work));
    expect(checkpoint.writes).toEqual([]);
    expect(counts.checkpoint).toBeUndefined();
    expect(counts.blobsProcessed).toBe(4);
  });
});

describe("the window pipeline's pace", () => {
  /** Runs 40 blobs of ~3 ms; returns the most blobs in flight once the first four have ended. */
  async function peakAfterStart(throttled: () => number): Promise<number> {
    const { work, planned } = setUp(1, 40);
    let running = 0;
    let ended = 0;
    let peak = 0;
    work.storeBlob = async () => {
      running++;
      if (ended >= 4) peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 3));
      running--;
      ended++;
      return processed;
    };
    let reads = 0;
    const totals = (): PaceTotals => ({ taken: reads, waitedMs: 0, throttled: throttled() });
    await syncWindows(
      options(planned, work, {
        blobConcurrency: 8,
        // A rate so high that latency alone asks for every slot.
        pace: { ratePerMinute: 600_000, read: () => (reads++, totals()) },
      }),
    );
    return peak;
  }

  it("fills its slots while the client is not throttled, and shrinks when it is", async () => {
    expect(await peakAfterStart(() => 0)).toBe(8);
    let throttles = 0;
    // Every read finds one more throttled answer than the last.
    expect(await peakAfterStart(() => ++throttles)).toBeLessThanOrEqual(2);
  });
});
