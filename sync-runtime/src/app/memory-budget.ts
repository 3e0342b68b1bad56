/**
 * How much blob data may be in flight at once, in bytes. Blob sizes are not known before the
 * download, so each blob charges the bytes it has seen so far, up to `perBlobCap` (what streaming
 * holds of a blob at most: a gzip block being filled and one being staged, plus a parse batch).
 * A blob that would go over the budget waits, and its download with it, until others finish.
 * Only a blob that someone else can free room for waits: when every other charged blob is
 * waiting too (none would ever release), it proceeds instead, so a blob alone always proceeds
 * and blobs below their cap can never deadlock each other, whatever the concurrency. The total
 * stays within the limit plus one blob's cap (plus each blob's first batch, never held back).
 */
export class MemoryBudget {
  private used = 0;
  /** Blobs holding a charge, and how many of those wait. */
  private holders = 0;
  private waiting = 0;
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly limitBytes: number,
    readonly perBlobCap: number,
  ) {
    if (!(limitBytes > 0 && perBlobCap > 0)) throw new RangeError("budget sizes must be positive");
  }

  get inUse(): number {
    return this.used;
  }

  /** One blob's account: charge bytes as they are seen, release all of it when the blob ends. */
  open(): BlobCharge {
    let charged = 0;
    return {
      see: async (bytes: number, signal?: AbortSignal) => {
        const want = Math.min(this.perBlobCap, charged + bytes) - charged;
        if (want <= 0) return;
        // Bounded: each wake-up follows a release; the signal ends the wait on shutdown.
        while (
          charged > 0 &&
          this.used + want > this.limitBytes &&
          this.waiting + 1 < this.holders
        ) {
          await this.wait(signal);
        }
        if (charged === 0) this.holders++;
        this.used += want;
        charged += want;
      },
      release: () => {
        if (charged === 0) return;
        this.used -= charged;
        this.holders--;
        charged = 0;
        for (const wake of [...this.waiters]) wake();
      },
    };
  }

  /** Until the next release (or the signal's abort, which rejects with its reason). */
  private async wait(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    this.waiting++;
    let wake!: () => void;
    let onAbort!: () => void;
    try {
      await new Promise<void>((resolve, reject) => {
        wake = resolve;
        onAbort = () => reject(signal!.reason);
        this.waiters.add(wake);
        signal?.addEventListener("abort", onAbort, { once: true });
      });
    } finally {
      this.waiters.delete(wake);
      signal?.removeEventListener("abort", onAbort);
      this.waiting--;
    }
  }
}

export interface BlobCharge {
  see(bytes: number, signal?: AbortSignal): Promise<void>;
  release(): void;
}
