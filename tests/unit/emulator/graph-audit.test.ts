import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type RunningEmulator } from "../../../emulator/index";
import { errorCode, getToken, send, TINY_START, TINY_TENANT, withTinyEmulator } from "./helpers";

const HOUR = 3_600_000;
const OPS = ["LaunchPowerApp", "DeletePowerApp"];

interface GraphQuery {
  id: string;
  status: string;
  isRecordCountLimitExceeded: boolean;
  approximateReturnedRecordCount: number;
  recordCountLimit: number;
}

interface GraphRecord {
  id: string;
  createdDateTime: string;
  operation: string;
  auditData: Record<string, unknown>;
}

/** A caller of the emulated Graph holding one Graph token. */
async function graphClient(emu: RunningEmulator) {
  const token = await getToken(emu, `${emu.graphUrl}/.default`);
  const headers = { Authorization: `Bearer ${token}`, "Content-Type": "application/json" };
  const queries = `${emu.graphUrl}/v1.0/security/auditLog/queries`;
  const client = {
    submit: (body: Record<string, unknown>) =>
      send(emu.caCertPem, "POST", queries, { headers, body: JSON.stringify(body) }),
    get: (url: string) => send(emu.caCertPem, "GET", url, { headers }),
    async run(from: Date, to: Date): Promise<GraphQuery> {
      const res = await client.submit({
        filterStartDateTime: from.toISOString(),
        filterEndDateTime: to.toISOString(),
        operationFilters: OPS,
      });
      expect(res.status).toBe(201);
      let q = JSON.parse(res.body) as GraphQuery;
      for (let i = 0; i < 20 && !["succeeded", "failed"].includes(q.status); i++)
        q = JSON.parse((await client.get(`${queries}/${q.id}`)).body) as GraphQuery;
      return q;
    },
    async records(id: string): Promise<{ records: GraphRecord[]; pages: number }> {
      const records: GraphRecord[] = [];
      let url: string | undefined = `${queries}/${id}/records`;
      let pages = 0;
      while (url) {
        const res = await client.get(url);
        expect(res.status).toBe(200);
        const body = JSON.parse(res.body) as { value: GraphRecord[]; "@odata.nextLink"?: string };
        records.push(...body.value);
        url = body["@odata.nextLink"];
        if (++pages > 1000) throw new Error("paging does not end");
      }
      return { records, pages };
    },
    queries,
  };
  return client;
}

describe("the emulated Microsoft Graph audit log query API", () => {
  let emu: RunningEmulator;
  beforeAll(async () => {
    emu = await startEmulator({
      seed: "graph",
      startTime: TINY_START,
      tenant: TINY_TENANT,
      graph: { pageSize: 7 },
    });
  });
  afterAll(async () => emu?.stop());

  it("moves a query from notStarted through running to succeeded on the simulated clock", async () => {
    const g = await graphClient(emu);
    const from = new Date(TINY_START.getTime() - 20 * HOUR);
    const res = await g.submit({
      filterStartDateTime: from.toISOString(),
      filterEndDateTime: new Date(from.getTime() + HOUR).toISOString(),
      operationFilters: OPS,
    });
    expect(res.status).toBe(201);
    const created = JSON.parse(res.body) as GraphQuery;
    expect(created.status).toBe("notStarted");
    // Time, not only polls, moves it: 2 simulated minutes in, one poll is "running".
    emu.clock.advance(2 * 60_000);
    const polled = JSON.parse((await g.get(`${g.queries}/${created.id}`)).body) as GraphQuery;
    expect(polled.status).toBe("running");
    emu.clock.advance(5 * 60_000);
    const done = JSON.parse((await g.get(`${g.queries}/${created.id}`)).body) as GraphQuery;
    expect(done.status).toBe("succeeded");
    expect(done.isRecordCountLimitExceeded).toBe(false);
  });

  it("returns exactly the window's launches and deletes, paged through @odata.nextLink", async () => {
    const g = await graphClient(emu);
    const window = { from: new Date(TINY_START.getTime() - 24 * HOUR), to: TINY_START };
    const q = await g.run(window.from, window.to);
    expect(q.status).toBe("succeeded");
    const { records, pages } = await g.records(q.id);
    expect(pages).toBeGreaterThan(2);
    // Records available when the query was submitted: everything older than the 12 h worst case.
    const settled = { from: window.from, to: new Date(window.to.getTime() - 12 * HOUR) };
    const truth = emu.groundTruth(settled);
    const launches = new Map<string, number>();
    for (const r of records) {
      expect(OPS).toContain(r.operation);
      expect(r.auditData.Id).toBe(r.id);
      const t = Date.parse(r.createdDateTime);
      expect(t).toBeGreaterThanOrEqual(window.from.getTime());
      expect(t).toBeLessThan(window.to.getTime());
      if (r.operation !== "LaunchPowerApp" || t >= settled.to.getTime()) continue;
      const props = (r.auditData.PropertyCollection ?? []) as { Name: string; Value: string }[];
      const appId =
        (r.auditData.AppName as string | undefined) ??
        props.find((p) => p.Name.endsWith("power_app.id"))?.Value;
      if (appId) launches.set(appId, (launches.get(appId) ?? 0) + 1);
    }
    expect(new Set(records.map((r) => r.id)).size).toBe(records.length);
    expect(Object.fromEntries(launches)).toEqual(
      Object.fromEntries(
        truth.apps.filter((a) => a.launches > 0).map((a) => [a.appId, a.launches]),
      ),
    );
  });

  it("refuses records before the query succeeded and rejects bad filters", async () => {
    const g = await graphClient(emu);
    const res = await g.submit({ filterStartDateTime: TINY_START.toISOString() });
    const q = JSON.parse(res.body) as GraphQuery;
    expect((await g.get(`${g.queries}/${q.id}/records`)).status).toBe(400);
    const bad = await g.submit({ filterStartDateTime: "yesterday" });
    expect(bad.status).toBe(400);
    expect(errorCode(bad)).toBe("BadRequest");
    const reversed = await g.submit({
      filterStartDateTime: TINY_START.toISOString(),
      filterEndDateTime: new Date(TINY_START.getTime() - HOUR).toISOString(),
    });
    expect(reversed.status).toBe(400);
  });

  it("refuses a Management API token and a token without AuditLogsQuery.Read.All", async () => {
    const managementToken = await getToken(emu);
    const res = await send(emu.caCertPem, "GET", `${emu.graphUrl}/v1.0/security/auditLog/queries`, {
      headers: { Authorization: `Bearer ${managementToken}` },
    });
    expect(res.status).toBe(401);
    expect(errorCode(res)).toBe("InvalidAuthenticationToken");
    // And the other way round: the Activity API refuses the Graph token.
    const graphToken = await getToken(emu, `${emu.graphUrl}/.default`);
    const feed = await send(
      emu.caCertPem,
      "GET",
      `${emu.url}/api/v1.0/${emu.tenant.tenantId}/activity/feed/subscriptions/list`,
      { headers: { Authorization: `Bearer ${graphToken}` } },
    );
    expect(feed.status).toBe(401);
  });
});

describe("the emulated Graph's limits", () => {
  it("sets isRecordCountLimitExceeded and serves no more than the limit", async () => {
    await withTinyEmulator({ graph: { recordCountLimit: 10 } }, async (emu) => {
      const g = await graphClient(emu);
      const q = await g.run(new Date(TINY_START.getTime() - 24 * HOUR), TINY_START);
      expect(q.status).toBe("succeeded");
      expect(q.isRecordCountLimitExceeded).toBe(true);
      expect(q.approximateReturnedRecordCount).toBeGreaterThan(10);
      expect((await g.records(q.id)).records).toHaveLength(10);
    });
  });

  it("answers 429 with Retry-After past the submissions per 24 hours, until they age out", async () => {
    await withTinyEmulator({ graph: { queriesPer24Hours: 2 } }, async (emu) => {
      const g = await graphClient(emu);
      const body = { filterStartDateTime: new Date(TINY_START.getTime() - HOUR).toISOString() };
      expect((await g.submit(body)).status).toBe(201);
      emu.clock.advance(HOUR);
      expect((await g.submit(body)).status).toBe(201);
      const refused = await g.submit(body);
      expect(refused.status).toBe(429);
      expect(Number(refused.headers["retry-after"])).toBe(23 * 3600);
      emu.clock.advance(23 * HOUR);
      expect((await g.submit(body)).status).toBe(201);
      expect(emu.stats().graph.queriesRefused).toBe(1);
    });
  });

  it("runs each query for minutes of its own, the same for the same filters, on the simulated clock", async () => {
    await withTinyEmulator(
      { graph: { queryRunMs: 4 * 60_000, pollProgressMs: 0 } },
      async (emu) => {
        const g = await graphClient(emu);
        const window = (h: number) => ({
          filterStartDateTime: new Date(TINY_START.getTime() - (h + 1) * HOUR).toISOString(),
          filterEndDateTime: new Date(TINY_START.getTime() - h * HOUR).toISOString(),
          operationFilters: OPS,
        });
        const ids: string[] = [];
        for (let h = 0; h < 8; h++)
          ids.push((JSON.parse((await g.submit(window(h))).body) as GraphQuery).id);
        // The first window again: the same filters take the same time.
        await g.submit(window(0));
        const runs = emu.graphSubmissions().map((q) => q.runMs);
        expect(runs[8]).toBe(runs[0]);
        // Minutes each, within queryRunMs × (1 ± 0.5), not all alike.
        for (const ms of runs) {
          expect(ms).toBeGreaterThanOrEqual(2 * 60_000);
          expect(ms).toBeLessThanOrEqual(6 * 60_000);
        }
        expect(new Set(runs).size).toBeGreaterThan(4);
        expect(emu.stats().graph.queryRunMsTotal).toBe(runs.reduce((a, b) => a + b, 0));
        // Each query succeeds when the clock reaches its own run time, not before.
        const status = async (id: string) =>
          (JSON.parse((await g.get(`${g.queries}/${id}`)).body) as GraphQuery).status;
        const shortest = runs.indexOf(Math.min(...runs.slice(0, 8)));
        emu.clock.advance(runs[shortest] - 1);
        expect(await status(ids[shortest])).toBe("running");
        emu.clock.advance(1);
        expect(await status(ids[shortest])).toBe("succeeded");
        const longest = runs.indexOf(Math.max(...runs.slice(0, 8)));
        expect(await status(ids[longest])).not.toBe("succeeded");
      },
    );
  });

  it("answers 429 past the queued or running queries, and again once one finished", async () => {
    await withTinyEmulator({ graph: { maxConcurrentQueries: 1 } }, async (emu) => {
      const g = await graphClient(emu);
      const body = { filterStartDateTime: new Date(TINY_START.getTime() - HOUR).toISOString() };
      expect((await g.submit(body)).status).toBe(201);
      const refused = await g.submit(body);
      expect(refused.status).toBe(429);
      // Retry once the running query ends: at most its run time (5 min × 1.5) from now.
      const retryAfter = Number(refused.headers["retry-after"]);
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(450);
      emu.clock.advance(retryAfter * 1000);
      expect((await g.submit(body)).status).toBe(201);
      expect(emu.stats().graph.peakQueriesInFlight).toBe(1);
      expect(emu.stats().graph.queriesRefusedPer24Hours).toBe(0);
    });
  });

  it("throttles requests per minute with 429 and Retry-After", async () => {
    await withTinyEmulator({ graph: { requestsPerMinute: 3 } }, async (emu) => {
      const g = await graphClient(emu);
      const statuses: number[] = [];
      let retryAfter: string | undefined;
      for (let i = 0; i < 5; i++) {
        const res = await g.get(g.queries);
        statuses.push(res.status);
        retryAfter ??= res.headers["retry-after"] as string | undefined;
      }
      expect(statuses).toEqual([200, 200, 200, 429, 429]);
      expect(Number(retryAfter)).toBeGreaterThan(0);
    });
  });

  it("ends the first failQueries queries 'failed'", async () => {
    await withTinyEmulator({ graph: { failQueries: 1 } }, async (emu) => {
      const g = await graphClient(emu);
      const from = new Date(TINY_START.getTime() - 2 * HOUR);
      expect((await g.run(from, TINY_START)).status).toBe("failed");
      expect((await g.run(from, TINY_START)).status).toBe("succeeded");
    });
  });

  it("answers GCC High and DoD's 'Resource not found for the segment' when not available", async () => {
    await withTinyEmulator({ graph: { available: false } }, async (emu) => {
      const g = await graphClient(emu);
      const res = await g.submit({});
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body).error.message).toBe(
        "Resource not found for the segment 'auditLog'.",
      );
    });
  });
});
