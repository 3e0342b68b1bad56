import type { BlobLeaseClient, ContainerClient } from "@azure/storage-blob";
import { LeaseError } from "../core/errors";
import { sleep } from "../core/sleep";
import { describeStorageFailure } from "./account";
import type { StorageOptions } from "./options";

/** The blob whose lease makes a runtime the one writer (in the leases container). */
export const LEASE_BLOB = "sync-pass.lock";

export interface PassLeaseOptions {
  /** Lease length in seconds (Azure allows 15-60). Default 60. */
  durationSeconds?: number;
  /** How often the lease is renewed while held. Default: a third of its length. */
  renewEveryMs?: number;
  /** How often a waiting runtime asks again. Default 5 s. */
  pollMs?: number;
  /** Clock for "last renewed" (tests). Default Date.now. */
  nowMs?: () => number;
}

/** A held lease: `signal` aborts (with a LeaseError) as soon as it can no longer be trusted. */
export interface HeldLease {
  readonly leaseId: string;
  readonly signal: AbortSignal;
  release(): Promise<void>;
}

/**
 * One writer per storage account: a pass holds an Azure Storage blob lease, renewed while it
 * runs. A Container App revision change starts the new revision before it stops the old one,
 * and `once` may run beside the service: whoever holds the lease syncs, the other waits or
 * skips. A renewal that fails for longer than the lease lasts means another runtime may hold it
 * now, so the held lease's signal aborts and the pass stops before its next write.
 */
export class PassLease {
  private readonly durationSeconds: number;
  private readonly renewEveryMs: number;
  private readonly pollMs: number;
  private readonly nowMs: () => number;

  constructor(
    private readonly container: ContainerClient,
    options: PassLeaseOptions = {},
  ) {
    this.durationSeconds = options.durationSeconds ?? 60;
    this.renewEveryMs = options.renewEveryMs ?? (this.durationSeconds * 1000) / 3;
    this.pollMs = options.pollMs ?? 5_000;
    this.nowMs = options.nowMs ?? Date.now;
  }

  /** Takes the lease if it is free; undefined when another runtime holds it. */
  async tryAcquire(options: StorageOptions = {}): Promise<HeldLease | undefined> {
    const blob = this.container.getBlockBlobClient(LEASE_BLOB);
    await this.ensureBlob(options);
    const client = blob.getBlobLeaseClient();
    try {
      await client.acquireLease(this.durationSeconds, { abortSignal: options.abortSignal });
    } catch (err) {
      if (isLeaseConflict(err)) return undefined;
      // Stopped while asking: the stop, not a storage failure.
      options.abortSignal?.throwIfAborted();
      throw new LeaseError(
        `Could not take the sync lease on ${LEASE_BLOB} (${describeStorageFailure(err)}). Check the storage account and the identity's Storage Blob Data Contributor role.`,
        { cause: err },
      );
    }
    return this.hold(client);
  }

  /** Waits (polling, abortable) until the lease is free, calling `onWait` once if it is not. */
  async acquire(options: StorageOptions & { onWait?: () => void } = {}): Promise<HeldLease> {
    // Bounded by the signal: a runtime asked to wait waits until the other pass ends or it is
    // stopped; each iteration is one request and one poll interval.
    for (let waited = false; ; waited = true) {
      const held = await this.tryAcquire(options);
      if (held) return held;
      if (!waited) options.onWait?.();
      await sleep(this.pollMs, options.abortSignal);
    }
  }

  private async ensureBlob(options: StorageOptions): Promise<void> {
    try {
      await this.container
        .getBlockBlobClient(LEASE_BLOB)
        .upload("", 0, { conditions: { ifNoneMatch: "*" }, abortSignal: options.abortSignal });
    } catch (err) {
      options.abortSignal?.throwIfAborted();
      const status = (err as { statusCode?: number }).statusCode;
      // 409 (leased) or 412 (exists): the blob is there, which is all that is needed.
      if (status !== 409 && status !== 412) {
        throw new LeaseError(
          `Could not create the sync lease blob ${LEASE_BLOB} (${describeStorageFailure(err)}).`,
          { cause: err },
        );
      }
    }
  }

  private hold(client: BlobLeaseClient): HeldLease {
    const controller = new AbortController();
    let lastRenewed = this.nowMs();
    const lose = (why: string, cause?: unknown) => {
      if (controller.signal.aborted) return;
      clearInterval(timer);
      controller.abort(
        new LeaseError(
          `Lost the sync lease (${why}): another runtime may be syncing now. This pass stops before its next write; the next one resumes from the checkpoint.`,
          { cause },
        ),
      );
    };
    const timer = setInterval(() => {
      client.renewLease().then(
        () => {
          lastRenewed = this.nowMs();
        },
        (err: unknown) => {
          // Someone else holds it now: certain loss. Anything else: lost once the lease may
          // have run out, since another runtime could then have taken it.
          if (isLeaseConflict(err)) lose(describeStorageFailure(err), err);
          else if (this.nowMs() - lastRenewed >= this.durationSeconds * 1000 - this.renewEveryMs)
            lose(`not renewed for ${Math.round((this.nowMs() - lastRenewed) / 1000)} s`, err);
        },
      );
    }, this.renewEveryMs);
    timer.unref();
    return {
      leaseId: client.leaseId,
      signal: controller.signal,
      release: async () => {
        clearInterval(timer);
        if (controller.signal.aborted) return;
        controller.abort(new LeaseError("The sync lease was released."));
        await client.releaseLease().catch(() => undefined);
      },
    };
  }
}

/** The answers that mean "another lease holds this blob" (or our lease id is no longer it). */
function isLeaseConflict(err: unknown): boolean {
  const e = err as { statusCode?: number; code?: string };
  return (
    e.statusCode === 409 ||
    e.code === "LeaseAlreadyPresent" ||
    e.code === "LeaseIdMismatchWithLeaseOperation" ||
    e.code === "LeaseLost"
  );
}
