import { afterAll, describe, expect, it } from "vitest";
import { startEmulator, type RunningEmulator } from "../../../emulator/index";
import type { DataverseEmulatorOptions } from "../../../emulator/index";
import { batchBody, errorCode, getToken, send } from "./helpers";

const API = "/api/data/v9.2";
const T = "2026-03-01T10:00:00Z";
const TYPE = "Microsoft.Dynamics.CRM.admin_auditlog";
const id = (n: number) => `66666666-0000-0000-0000-${String(n).padStart(12, "0")}`;

/**
 * The service protection limits counted as "Service protection API limits" (powerapps-docs
 * api-limits.md) counts them: a batch "avoids the number of requests limit" but its operations
 * count toward the execution time, and every answer carries x-ms-dop-hint.
 */
describe("the Dataverse emulator's service protection limits", () => {
  const running: RunningEmulator[] = [];
  afterAll(async () => Promise.all(running.map((e) => e.stop())));

  async function environment(dataverse: DataverseEmulatorOptions) {
    const emu = await startEmulator({
      seed: "dataverse-limits",
      startTime: new Date("2026-03-02T00:00:00Z"),
      tenant: { apps: 4, days: 1 },
      dataverse: { missingAppEvery: 0, ...dataverse },
    });
    running.push(emu);
    const url = emu.dataverse!.url;
    const token = await getToken(emu, `${url}/.default`);
    const headers = { Authorization: `Bearer ${token}`, "Content-Type": "application/json" };
    return {
      emu,
      get: (path: string) => send(emu.caCertPem, "GET", `${url}${API}/${path}`, { headers }),
      batch: (from: number, count: number) => {
        const b = batchBody(
          url,
          Array.from({ length: count }, (_, i) => ({
            method: "PATCH",
            path: `admin_auditlogs(${id(from + i)})`,
            body: { admin_creationtime: T },
          })),
        );
        return send(emu.caCertPem, "POST", `${url}${API}/$batch`, {
          headers: { ...headers, "Content-Type": `multipart/mixed; boundary=${b.boundary}` },
          body: b.body,
        });
      },
      upsertMultiple: (from: number, count: number) =>
        send(
          emu.caCertPem,
          "POST",
          `${url}${API}/admin_auditlogs/Microsoft.Dynamics.CRM.UpsertMultiple`,
          {
            headers,
            body: JSON.stringify({
              Targets: Array.from({ length: count }, (_, i) => ({
                "@odata.type": TYPE,
                admin_auditlogid: id(from + i),
                admin_creationtime: T,
              })),
            }),
          },
        ),
    };
  }

  it("counts a $batch and a bulk message as one request each toward the number of requests", async () => {
    const env = await environment({ requestsPerWindow: 3, windowMs: 60_000 });
    expect((await env.batch(0, 200)).status).toBe(200);
    expect((await env.upsertMultiple(1000, 500)).status).toBe(204);
    expect((await env.batch(2000, 300)).status).toBe(200);
    expect(env.emu.dataverse!.rows("admin_auditlogs")).toHaveLength(1000);
    const fourth = await env.get("admin_apps?$top=1");
    expect([fourth.status, errorCode(fourth)]).toEqual([429, "0x80072322"]);
    const retryAfter = Number(fourth.headers["retry-after"]);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    const c = env.emu.dataverse!.counters();
    expect([c.requests, c.batches, c.bulkRequests, c.operations]).toEqual([4, 2, 1, 1000]);
    expect(c.requestLimitRejected).toBe(1);
  });

  it("charges every operation of a batch, and a bulk record at a fifth of it, to the execution time; refuses past the budget until it frees", async () => {
    const windowMs = 1500;
    const env = await environment({
      executionMsPerWindow: 300,
      operationCostMs: 20,
      bulkRecordCostMs: 4,
      windowMs,
    });
    const bulk = await env.upsertMultiple(0, 25);
    expect(bulk.status).toBe(204);
    expect(env.emu.dataverse!.counters().executionMs).toBe(100);
    expect(bulk.headers["x-ms-ratelimit-time-remaining-xrm-requests"]).toBe("200");
    const batch = await env.batch(100, 10);
    expect(batch.status).toBe(200);
    expect(env.emu.dataverse!.counters().executionMs).toBe(300);
    const refusedAt = Date.now();
    const refused = await env.get("admin_apps?$top=1");
    expect([refused.status, errorCode(refused)]).toEqual([429, "0x80072321"]);
    expect(JSON.parse(refused.body).error.message).toContain("Combined execution time");
    expect(Number(refused.headers["retry-after"])).toBe(Math.ceil(windowMs / 1000));
    expect(env.emu.dataverse!.counters().executionLimitRejected).toBe(1);
    // The window slides: once the first charge leaves it, requests are served again.
    await new Promise((r) => setTimeout(r, windowMs - (Date.now() - refusedAt) + 100));
    expect((await env.get("admin_apps?$top=1")).status).toBe(200);
  });

  it("remembers each write request's operations and answer, the refused ones with their code", async () => {
    const env = await environment({ executionMsPerWindow: 100, windowMs: 60_000 });
    expect((await env.upsertMultiple(0, 30)).status).toBe(204);
    expect((await env.batch(100, 7)).status).toBe(429);
    await env.get("admin_apps?$top=1");
    expect(env.emu.dataverse!.writes()).toEqual([
      { kind: "bulk", operations: 30, status: 204 },
      { kind: "batch", operations: 7, status: 429, code: "0x80072321" },
    ]);
  });

  it("answers x-ms-dop-hint on every answer, throttled or not", async () => {
    const env = await environment({ dopHint: 7, requestsPerWindow: 1 });
    const ok = await env.get("admin_apps?$top=1");
    const throttled = await env.get("admin_apps?$top=1");
    expect([ok.status, throttled.status]).toEqual([200, 429]);
    expect([ok.headers["x-ms-dop-hint"], throttled.headers["x-ms-dop-hint"]]).toEqual(["7", "7"]);
    const defaults = await environment({});
    expect((await defaults.get("admin_apps?$top=1")).headers["x-ms-dop-hint"]).toBe("4");
  });
});
