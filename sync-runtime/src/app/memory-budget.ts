/**
 * How much blob data may be in flight at once, in bytes. Blob sizes are not known before the
 * download, so each blob charges the bytes it has seen so far, up to `perBlobCap` (what streaming
 * holds of a blob at most: a gzip block being filled and one being staged, plus a parse batch).
 * A blob that would go over the budget waits, and its download with it, until others finish;
 * a blob alone always proceeds, so one big blob can never deadlock the pass.
 */
export class MemoryBudget {
  private used = 0;
  private readonly waiters: Array<() => void> = [];

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
        while (charged > 0 && this.used + want > this.limitBytes) {
          signal?.throwIfAborted();
          await new Promise<void>((resolve) => this.waiters.push(resolve));
        }
        this.used += want;
        charged += want;
      },
      release: () => {
        this.used -= charged;
        charged = 0;
        for (const wake of this.waiters.splice(0)) wake();
      },
    };
  }
}

export interface BlobCharge {
  see(bytes: number, signal?: AbortSignal): Promise<void>;
  release(): void;
}
