import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderReport } from "../../../sync-runtime/src/presentation/report/render";
import { reportBlobName, serve } from "../../../sync-runtime/src/app/serve";
import { startTestEnv, type TestEnv } from "./harness";

describe("serve", () => {
  const start = new Date("2026-02-02T12:00:00Z");
  let t: TestEnv;
  beforeAll(async () => {
    t = await startTestEnv({
      seed: "serve",
      startTime: start,
      tenant: { days: 2, futureDays: 1, apps: 4, users: 6, launchesPerDay: 40, deletes: 0 },
      content: { blobIntervalMinutes: 60 },
    });
  });
  afterAll(async () => t?.stop());

  it("passes on schedule, serves health, readiness and metrics, writes report files, stops on signal", async () => {
    const runtime = t.runtime();
    const controller = new AbortController();
    const service = await serve(runtime, {
      port: 0,
      intervalMs: 60_000,
      reportDays: 1,
      staleDays: 2,
      signal: controller.signal,
    });
    const base = `http://127.0.0.1:${service.port}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);

    // Readiness comes with the first completed pass's status.
    let ready: { ready: boolean; lastPass: string } = { ready: false, lastPass: "none" };
    for (let i = 0; i < 200 && ready.lastPass === "none"; i++) {
      await new Promise((r) => setTimeout(r, 50));
      ready = (await (await fetch(`${base}/readyz`)).json()) as typeof ready;
    }
    expect(ready).toMatchObject({ ready: true, lastPass: "ok" });

    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^audit_passes_total\{result="ok"\} 1$/m);
    expect(metrics).toMatch(
      /^audit_blobs_processed_total\{content_type="Audit.General"\} [1-9]\d*$/m,
    );
    expect(metrics).toMatch(/^audit_last_success_timestamp_seconds \d+$/m);
    expect(metrics).toMatch(/^audit_lag_seconds\{content_type="Audit.General"\} \d+$/m);
    expect(metrics).not.toContain(t.env.AUDIT_CLIENT_SECRET);

    // Report files land shortly after the pass; compare them with a report computed directly.
    // reportDays 1: today so far (the files cover whole UTC days plus today).
    const expected = await runtime.report(
      { from: new Date(Date.parse(start.toISOString().slice(0, 10))), to: start },
      { staleDays: 2 },
    );
    expect(expected.apps.length).toBeGreaterThan(0);
    // The files carry the all-time inactive apps, computed with the service's stale days.
    expect(expected.staleDays).toBe(2);
    expect(Array.isArray(expected.inactiveApps)).toBe(true);
    // The files are uploaded one after the other (json, csv, html): wait for the last one.
    const last = runtime.storage.reports.getBlobClient(reportBlobName("html"));
    for (let i = 0; i < 200 && !(await last.exists()); i++)
      await new Promise((r) => setTimeout(r, 50));
    const json = runtime.storage.reports.getBlobClient(reportBlobName("json"));
    expect((await json.downloadToBuffer()).toString("utf8")).toBe(renderReport(expected, "json"));
    const csv = runtime.storage.reports.getBlobClient(reportBlobName("csv"));
    expect((await csv.downloadToBuffer()).toString("utf8")).toBe(renderReport(expected, "csv"));
    expect((await last.getProperties()).contentType).toMatch(/^text\/html/);

    // Idle between passes, a stop request closes the server at once.
    controller.abort();
    await service.done;
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
    expect(t.logs.some((l) => JSON.parse(l).msg === "stopped")).toBe(true);
  });
});
