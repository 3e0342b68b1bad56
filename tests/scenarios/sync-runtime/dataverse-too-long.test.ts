import { Agent } from "node:https";
import { afterAll, describe, expect, it } from "vitest";
import { runtimeEnvFor } from "../../../demo/runtime-env";
import {
  startEmulator,
  type DataverseEmulatorOptions,
  type RunningEmulator,
} from "../../../emulator/index";
import { loadConfig } from "../../../sync-runtime/src/app/config";
import { createTokenProvider } from "../../../sync-runtime/src/clients/auth";
import { DataverseClient, type TooLong } from "../../../sync-runtime/src/clients/dataverse";
import { HttpClient } from "../../../sync-runtime/src/clients/http/client";

const row = (n: number) => ({
  id: `7e000000-0000-4000-8000-${String(n).padStart(12, "0")}`,
  body: { admin_creationtime: "2026-03-01T10:00:00Z" },
});

/**
 * Which answers the Dataverse client reports as "the requests run too long" (what makes the sink
 * send fewer rows per request), against the emulator's service protection limits: the
 * execution-time limit (429 0x80072321) and a request outlasting the client's timeout are; the
 * number-of-requests limit (0x80072322, which more rows per request would help) and a stop by the
 * caller are not.
 */
describe("the Dataverse client's too-long answers", () => {
  const running: { emu: RunningEmulator; agent: Agent }[] = [];
  afterAll(async () => {
    for (const r of running) r.agent.destroy();
    await Promise.all(running.map((r) => r.emu.stop()));
  });

  async function client(dataverse: DataverseEmulatorOptions, timeoutMs = 30_000, maxRetries = 0) {
    const emu = await startEmulator({
      seed: "dataverse-too-long",
      startTime: new Date("2026-03-02T00:00:00Z"),
      tenant: { apps: 4, days: 1 },
      dataverse: { missingAppEvery: 0, ...dataverse },
    });
    const agent = new Agent({ ca: emu.caCertPem, keepAlive: true });
    running.push({ emu, agent });
    const config = loadConfig({ ...runtimeEnvFor(emu), AUDIT_STORAGE_CONNECTION_STRING: "x" });
    const url = emu.dataverse!.url;
    // No retries unless asked: each call is one attempt, so each answer is seen once.
    const http = new HttpClient({
      agent,
      timeoutMs,
      retry: { maxRetries, minDelayMs: 5, maxDelayMs: 20 },
    });
    const tokens = createTokenProvider({ ...config, audience: url }, http);
    const heard: TooLong[] = [];
    return {
      emu,
      heard,
      dv: new DataverseClient({ url, clientId: config.clientId, http, tokens }),
      onTooLong: (why: TooLong) => heard.push(why),
    };
  }

  it("reports the execution-time limit, for a bulk message and for a $batch", async () => {
    const c = await client({ executionMsPerWindow: 10, windowMs: 60_000 });
    const rows = [row(1), row(2), row(3)];
    const upsert = (signal?: AbortSignal) =>
      c.dv.upsertMultiple("admin_auditlogs", "admin_auditlog", rows, signal, c.onTooLong);
    expect((await upsert()).status).toBe(204);
    expect(c.heard).toEqual([]);
    expect((await upsert()).status).toBe(429);
    expect(c.heard).toEqual(["execution-time"]);
    const writes = rows.map((r) => ({ entitySet: "admin_auditlogs", ...r }));
    const answers = await c.dv.batch(writes, undefined, c.onTooLong);
    expect(answers.map((a) => a.status)).toEqual([429, 429, 429]);
    expect(c.heard).toEqual(["execution-time", "execution-time"]);
  });

  it("does not report the number-of-requests limit", async () => {
    const c = await client({ requestsPerWindow: 1, windowMs: 60_000 });
    const rows = [row(1)];
    await c.dv.upsertMultiple("admin_auditlogs", "admin_auditlog", rows, undefined, c.onTooLong);
    const refused = await c.dv.upsertMultiple(
      "admin_auditlogs",
      "admin_auditlog",
      rows,
      undefined,
      c.onTooLong,
    );
    expect(refused.status).toBe(429);
    expect(c.emu.dataverse!.writes().at(-1)?.code).toBe("0x80072322");
    expect(c.heard).toEqual([]);
  });

  it("reports a request that outlasts the client's timeout and hands it back unsent, not one the caller stopped", async () => {
    const c = await client({ latencyMs: 1_000 }, 300, 3);
    const timedOut = await c.dv.upsertMultiple(
      "admin_auditlogs",
      "admin_auditlog",
      [row(1)],
      undefined,
      c.onTooLong,
    );
    // Not sent again as it was (it would run as long again): back at once, for the caller to
    // send its rows in smaller requests.
    expect(timedOut.status).toBe(0);
    expect(c.heard).toEqual(["timeout"]);
    expect(c.emu.dataverse!.counters().requests).toBe(1);
    const stop = new AbortController();
    setTimeout(() => stop.abort(new Error("stopped")), 100);
    await expect(
      c.dv.upsertMultiple("admin_auditlogs", "admin_auditlog", [row(2)], stop.signal, c.onTooLong),
    ).rejects.toThrow("stopped");
    expect(c.heard).toEqual(["timeout"]);
  });
});
