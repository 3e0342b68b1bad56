import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DATAVERSE_LIMITS } from "../../../sync-runtime/src/app/dataverse-sink";
import type { PowerAppEvent } from "../../../sync-runtime/src/domain/records";
import { startTestEnv, type TestEnv } from "./harness";

/**
 * Dataverse's execution-time limit met by a drain of 3,000 launches: an environment whose budget
 * (0.5 s of execution per 1-second window, a bulk record costing 1 ms) is spent by one request of
 * 1,000 rows answers the next one 429 0x80072321 ("reduce the duration of requests"). With one
 * request in flight (x-ms-dop-hint 1), each request is cut after the answer before it: the next
 * ones carry fewer rows, as the emulator's own record of the requests shows, and every row
 * arrives exactly once.
 */
describe("the Dataverse sink at the execution-time limit", () => {
  const rows = 3000;
  let t: TestEnv;

  beforeAll(async () => {
    t = await startTestEnv({
      seed: "dataverse-batch-size",
      startTime: new Date("2026-03-05T00:00:00Z"),
      tenant: { days: 1, apps: 5, users: 10, launchesPerDay: 10 },
      dataverse: {
        missingAppEvery: 0,
        dopHint: 1,
        executionMsPerWindow: 500,
        windowMs: 1000,
        bulkRecordCostMs: 1,
      },
    });
  });
  afterAll(async () => t?.stop());

  it("sends fewer rows per request after a 429 for the execution time, and writes every row once", async () => {
    const dv = t.emulator.dataverse!;
    const runtime = t.runtime();
    await runtime.ready();
    const apps = dv.seededAppIds();
    const launches: PowerAppEvent[] = Array.from({ length: rows }, (_, i) => ({
      kind: "launch",
      recordId: `b5000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
      creationTime: new Date(Date.parse("2026-03-04T08:00:00Z") + i * 1000).toISOString(),
      appId: apps[i % apps.length],
      appName: `App ${i % apps.length}`,
      environmentId: null,
      userUpn: `user${i % 10}@contoso.com`,
      userKey: null,
      schema: "purview",
    }));
    await runtime.store.dataverseOutbox!.add(launches);

    const result = await runtime.syncDataverse!();
    expect(result).toMatchObject({ launchesWritten: rows, deferred: 0, rejected: 0 });

    const bulk = dv.writes().filter((w) => w.kind === "bulk");
    const firstRefusal = bulk.findIndex((w) => w.status === 429 && w.code === "0x80072321");
    expect(firstRefusal).toBeGreaterThan(0);
    // Until Dataverse pushed back, every request carried the configured size.
    for (const w of bulk.slice(0, firstRefusal))
      expect(w.operations).toBe(DATAVERSE_LIMITS.bulkSize);
    // After it, requests of half the size or less, never under the floor.
    const served = bulk.filter((w) => w.status < 300);
    const after = bulk.slice(firstRefusal).filter((w) => w.status < 300);
    expect(Math.min(...after.map((w) => w.operations))).toBeLessThanOrEqual(
      DATAVERSE_LIMITS.bulkSize / 2,
    );
    expect(Math.min(...served.map((w) => w.operations))).toBeGreaterThanOrEqual(
      DATAVERSE_LIMITS.minBatchSize,
    );
    // Every row once: the requests Dataverse served (all or nothing) add up to the rows, and the
    // table holds each row one time.
    expect(served.reduce((n, w) => n + w.operations, 0)).toBe(rows);
    const written = dv.rows("admin_auditlogs");
    expect(written).toHaveLength(rows);
    expect(new Set(written.map((r) => r.admin_auditlogid)).size).toBe(rows);

    // Said in the log and on /metrics.
    expect(t.logs.some((l) => l.includes("sends fewer rows per request"))).toBe(true);
    const size = runtime.metrics.get("audit_dataverse_batch_size");
    expect(size).toBeGreaterThanOrEqual(DATAVERSE_LIMITS.minBatchSize);
    expect(size).toBeLessThan(DATAVERSE_LIMITS.bulkSize);
    expect(runtime.metrics.render()).toContain(`audit_dataverse_batch_size ${size}`);
  }, 120_000);
});

/**
 * Requests that outlast the sink's HTTP timeout (AUDIT_HTTP_TIMEOUT_MS, 1 s here): the emulator's
 * requests take the execution time they are charged, 4 ms a bulk record, so 1,000 rows take 4 s,
 * 500 take 2 s, 250 one second and 125 half a second. A request that timed out is not sent again
 * as it was (it would run as long again): its rows go again at half the size, until they fit.
 */
describe("the Dataverse sink's requests past the timeout", () => {
  const rows = 2000;
  let t: TestEnv;

  beforeAll(async () => {
    t = await startTestEnv(
      {
        seed: "dataverse-batch-timeout",
        startTime: new Date("2026-03-05T00:00:00Z"),
        tenant: { days: 1, apps: 5, users: 10, launchesPerDay: 10 },
        dataverse: { missingAppEvery: 0, executionTakesTime: true },
      },
      { AUDIT_HTTP_TIMEOUT_MS: "1000" },
    );
  });
  afterAll(async () => t?.stop());

  it("sends the rows of a timed-out request again in smaller requests, each row once in the table", async () => {
    const dv = t.emulator.dataverse!;
    const runtime = t.runtime();
    await runtime.ready();
    const apps = dv.seededAppIds();
    await runtime.store.dataverseOutbox!.add(
      Array.from({ length: rows }, (_, i) => ({
        kind: "launch" as const,
        recordId: `b6000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
        creationTime: new Date(Date.parse("2026-03-04T08:00:00Z") + i * 1000).toISOString(),
        appId: apps[i % apps.length],
        appName: `App ${i % apps.length}`,
        environmentId: null,
        userUpn: null,
        userKey: null,
        schema: "purview" as const,
      })),
    );

    const result = await runtime.syncDataverse!();
    expect(result).toMatchObject({ launchesWritten: rows, deferred: 0, rejected: 0 });

    const sizes = dv
      .writes()
      .filter((w) => w.kind === "bulk")
      .map((w) => w.operations);
    // The two first requests of 1,000 timed out and were never sent again as they were.
    expect(sizes.filter((n) => n === DATAVERSE_LIMITS.bulkSize)).toHaveLength(2);
    // Their rows went again at half the size each time, until requests fit in the second.
    expect(sizes.filter((n) => n === 500)).toHaveLength(4);
    expect(Math.min(...sizes)).toBeLessThanOrEqual(125);
    expect(Math.min(...sizes)).toBeGreaterThanOrEqual(DATAVERSE_LIMITS.minBatchSize);
    const written = dv.rows("admin_auditlogs");
    expect(new Set(written.map((r) => r.admin_auditlogid)).size).toBe(rows);
    expect(t.logs.some((l) => l.includes('"why":"timeout"'))).toBe(true);
  }, 120_000);
});
