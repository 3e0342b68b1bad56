import { BlobServiceClient } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONTAINERS, POWER_APPS_CONTENT_TYPE, TABLES } from "../../../sync-runtime/contract";
import { LeaseError } from "../../../sync-runtime/src/core/errors";
import { LEASE_BLOB, PassLease } from "../../../sync-runtime/src/storage/pass-lease";
import { cli } from "./cli-child";
import { HOUR, startTestEnv, type TestEnv } from "./harness";

/**
 * One writer at a time: a Container App revision change runs two revisions side by side for a
 * while, and `once` may run beside the service. The sync lease decides who writes.
 */
describe("one writer", () => {
  let t: TestEnv;
  beforeAll(async () => {
    t = await startTestEnv(
      {
        seed: "one-writer",
        latencyMs: [10, 20],
        pageSize: 10,
        tenant: { days: 1, futureDays: 0, apps: 5, users: 8, launchesPerDay: 120, deletes: 1 },
        content: {
          blobIntervalMinutes: 20,
          duplicateShare: 0.05,
          lateAvailabilityShare: 0,
          lateListingShare: 0,
        },
      },
      { AUDIT_LEASE_SECONDS: "15", AUDIT_FIRST_RUN_HOURS: "24", AUDIT_LOG_LEVEL: "info" },
    );
    await t.runtime().ready();
  });
  afterAll(async () => t?.stop());

  /** Content blobs recorded as processed (one row per content id). */
  const storedBlobs = async () => {
    let n = 0;
    for await (const _ of t.runtime().storage.table(TABLES.contentIds).listEntities()) n++;
    return n;
  };
  const leases = () =>
    BlobServiceClient.fromConnectionString(t.azurite.connectionString).getContainerClient(
      CONTAINERS.leases,
    );

  it("lets one holder take the lease at a time, and the next after it is released", async () => {
    const first = await new PassLease(leases()).tryAcquire();
    expect(first).toBeDefined();
    expect(await new PassLease(leases()).tryAcquire()).toBeUndefined();
    await first!.release();
    const next = await new PassLease(leases()).tryAcquire();
    expect(next).toBeDefined();
    await next!.release();
  });

  it("aborts the holder's signal when another runtime takes the lease away", async () => {
    const held = (await new PassLease(leases(), { renewEveryMs: 50 }).tryAcquire())!;
    await leases().getBlobClient(LEASE_BLOB).getBlobLeaseClient().breakLease(0);
    await new Promise<void>((resolve) => held.signal.addEventListener("abort", () => resolve()));
    expect(held.signal.reason).toBeInstanceOf(LeaseError);
    expect(String(held.signal.reason.message)).toContain("Lost the sync lease");
    await held.release();
  });

  it("stops a pass whose lease is lost before its next write", async () => {
    const runtime = t.runtime({}, { lease: { renewEveryMs: 50 } });
    let processed = 0;
    const before = await storedBlobs();
    const pass = runtime.sync({
      onProgress: (s) => {
        if (s.blobsDone > 0 && processed++ === 0) {
          void leases().getBlobClient(LEASE_BLOB).getBlobLeaseClient().breakLease(0);
        }
      },
    });
    const err = await pass.catch((e: unknown) => e);
    expect(err, String((err as Error).message)).toBeInstanceOf(LeaseError);
    const after = await storedBlobs();
    // Some blobs were stored before the loss, and nothing is written after the pass stopped.
    expect(after).toBeGreaterThan(before);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await storedBlobs()).toBe(after);
    // The checkpoint did not move past what was stored (the unfinished window stays open).
    expect(await runtime.store.checkpoints.get(POWER_APPS_CONTENT_TYPE)).toBeUndefined();
  });

  it("two `once` and two `serve` at the same time: the report is the ground truth, no blob fetched twice", async () => {
    const servedBefore = t.emulator.stats().blobsServed;
    const storedBefore = await storedBlobs();
    const serveEnv = { ...t.env, PORT: "0", AUDIT_SYNC_INTERVAL_MINUTES: "60" };
    const stopped: Promise<unknown>[] = [];
    const serves = [0, 1].map(() => {
      let kill: ((s: NodeJS.Signals) => void) | undefined;
      let firstPassEnded: () => void = () => {};
      const ended = new Promise<void>((resolve) => (firstPassEnded = resolve));
      const done = cli(["serve"], serveEnv, (line, k) => {
        kill = k;
        if (/"pass (completed|skipped|failed)/.test(line)) firstPassEnded();
      });
      stopped.push(done);
      return { ended, stop: () => kill?.("SIGTERM"), done };
    });
    const onces = await Promise.all([cli(["once"], t.env), cli(["once"], t.env)]);
    for (const once of onces) expect(once.code, once.stderr).toBe(0);
    await Promise.all(serves.map((s) => s.ended));
    for (const s of serves) s.stop();
    const results = await Promise.all(serves.map((s) => s.done));
    for (const r of results) expect(r.code, r.stderr).toBe(0);

    // Someone waited or skipped: the lease was contended, and every runtime said what it did.
    const logs = [...onces, ...results].map((r) => r.stderr).join("\n");
    expect(logs).toMatch(/waiting for its pass to end|pass skipped: another runtime holds/);

    const now = Date.now();
    const window = { from: new Date(now - 22 * HOUR), to: new Date(now - 3 * HOUR) };
    const report = await t.runtime().report(window);
    const { daily: _daily, ...figures } = report;
    expect(figures).toEqual(t.emulator.groundTruth(window));

    // Every blob still to do was fetched by exactly one runtime, once: API calls not doubled.
    const newlyStored = (await storedBlobs()) - storedBefore;
    expect(newlyStored).toBeGreaterThan(10);
    expect(t.emulator.stats().blobsServed - servedBefore).toBe(newlyStored);
  });
});
