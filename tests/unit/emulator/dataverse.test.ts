import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type RunningEmulator } from "../../../emulator/index";
import { getToken, send } from "./helpers";

const API = "/api/data/v9.2";
const ROW = "11111111-2222-3333-4444-555555555555";

/** The Dataverse emulator driven over HTTPS with hand-written Web API requests, as the docs show them. */
describe("the Dataverse emulator", () => {
  let emu: RunningEmulator;
  let token: string;
  let url: string;
  let appId: string;

  beforeAll(async () => {
    emu = await startEmulator({
      seed: "dataverse-unit",
      startTime: new Date("2026-03-02T00:00:00Z"),
      tenant: { apps: 4, days: 1 },
      dataverse: { missingAppEvery: 0, requestsPerWindow: 40, windowMs: 60_000 },
    });
    url = emu.dataverse!.url;
    token = await getToken(emu, `${url}/.default`);
    appId = emu.dataverse!.seededAppIds()[0];
  });
  afterAll(async () => emu?.stop());

  const call = (
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) =>
    send(emu.caCertPem, method, `${url}${API}/${path}`, {
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  it("upserts by PATCH, honours If-None-Match / If-Match and reads the row back by key", async () => {
    const body = { admin_creationtime: "2026-03-01T10:00:00Z", admin_operation: "LaunchPowerApp" };
    expect(
      (await call("PATCH", `admin_auditlogs(${ROW})`, { admin_title: "x" }, { "If-Match": "*" }))
        .status,
    ).toBe(404);
    const created = await call("PATCH", `admin_auditlogs(${ROW})`, body, { "If-None-Match": "*" });
    expect(created.status).toBe(204);
    expect(created.headers["odata-entityid"]).toBe(`${url}${API}/admin_auditlogs(${ROW})`);
    expect(
      (await call("PATCH", `admin_auditlogs(${ROW})`, body, { "If-None-Match": "*" })).status,
    ).toBe(412);
    expect((await call("PATCH", `admin_auditlogs(${ROW})`, { admin_title: "t" })).status).toBe(204);
    const got = await call("GET", `admin_auditlogs(${ROW})?$select=admin_title,admin_creationtime`);
    expect(got.status).toBe(200);
    expect(JSON.parse(got.body)).toMatchObject({
      admin_auditlogid: ROW,
      admin_title: "t",
      admin_creationtime: "2026-03-01T10:00:00Z",
    });
    expect(JSON.parse(got.body).admin_operation).toBeUndefined();
  });

  it("refuses what the table does not allow: a long text, an unknown column, a missing required one, a bind to no row", async () => {
    const id = "22222222-2222-3333-4444-555555555555";
    const t = "2026-03-01T10:00:00Z";
    const long = await call("PATCH", `admin_auditlogs(${id})`, {
      admin_creationtime: t,
      admin_appid: "a".repeat(101),
    });
    expect([long.status, JSON.parse(long.body).error.code]).toEqual([400, "0x80044331"]);
    const unknown = await call("PATCH", `admin_auditlogs(${id})`, {
      admin_creationtime: t,
      admin_nope: "x",
    });
    expect(unknown.status).toBe(400);
    expect((await call("PATCH", `admin_auditlogs(${id})`, { admin_title: "no time" })).status).toBe(
      400,
    );
    const lowerNav = await call("PATCH", `admin_auditlogs(${id})`, {
      admin_creationtime: t,
      "admin_applookup@odata.bind": `admin_apps(${appId})`,
    });
    expect(lowerNav.status).toBe(400);
    const noApp = await call("PATCH", `admin_auditlogs(${id})`, {
      admin_creationtime: t,
      "admin_AppLookup@odata.bind": `admin_apps(${ROW})`,
    });
    expect(noApp.status).toBe(404);
    const ok = await call("PATCH", `admin_auditlogs(${id})`, {
      admin_creationtime: t,
      "admin_AppLookup@odata.bind": `admin_apps(${appId})`,
    });
    expect(ok.status).toBe(204);
    expect(
      emu.dataverse!.rows("admin_auditlogs").find((r) => r.admin_auditlogid === id)
        ?._admin_applookup_value,
    ).toBe(appId);
  });

  it("runs a $batch change set as one transaction: a failing write rolls back its change set only", async () => {
    const [a, b, c] = [
      "33333333-0000-0000-0000-00000000000a",
      "33333333-0000-0000-0000-00000000000b",
      "33333333-0000-0000-0000-00000000000c",
    ];
    const op = (id: string, body: unknown, n: number) =>
      `--cs1\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: ${n}\r\n\r\n` +
      `PATCH ${url}${API}/admin_auditlogs(${id}) HTTP/1.1\r\nContent-Type: application/json\r\n\r\n${JSON.stringify(body)}\r\n`;
    const good = { admin_creationtime: "2026-03-01T10:00:00Z" };
    const body =
      `--batch1\r\nContent-Type: multipart/mixed; boundary=cs1\r\n\r\n${op(a, good, 1)}${op(b, { admin_title: "no creation time" }, 2)}--cs1--\r\n` +
      `--batch1\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\nPATCH ${url}${API}/admin_auditlogs(${c}) HTTP/1.1\r\nContent-Type: application/json\r\n\r\n${JSON.stringify(good)}\r\n--batch1--\r\n`;
    const res = await send(emu.caCertPem, "POST", `${url}${API}/$batch`, {
      headers: {
        Authorization: `Bearer ${token}`,
        "Content-Type": "multipart/mixed; boundary=batch1",
        Prefer: "odata.continue-on-error",
      },
      body,
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatch(/HTTP\/1\.1 400/);
    const ids = emu.dataverse!.rows("admin_auditlogs").map((r) => r.admin_auditlogid);
    expect(ids).not.toContain(a);
    expect(ids).not.toContain(b);
    expect(ids).toContain(c);
  });

  it("answers 401 without a Dataverse token and 403 for an app without application user or role", async () => {
    const apiToken = await getToken(emu);
    const wrongAudience = await send(emu.caCertPem, "GET", `${url}${API}/admin_apps(${appId})`, {
      headers: { Authorization: `Bearer ${apiToken}` },
    });
    expect(wrongAudience.status).toBe(401);
    emu.dataverse!.setApplicationUser("missing");
    const missing = await call("GET", `admin_apps(${appId})`);
    expect([missing.status, JSON.parse(missing.body).error.code]).toEqual([403, "0x80072560"]);
    emu.dataverse!.setApplicationUser("no-role");
    expect((await call("GET", `admin_apps(${appId})`)).status).toBe(403);
    emu.dataverse!.setApplicationUser("present");
    expect((await call("GET", `admin_apps(${appId})`)).status).toBe(200);
  });

  it("throttles over the window's request limit with 429 and Retry-After", async () => {
    const answers = [];
    for (let i = 0; i < 45; i++) answers.push(await call("GET", `admin_apps(${appId})`));
    const throttled = answers.find((r) => r.status === 429);
    expect(throttled).toBeDefined();
    expect(Number(throttled!.headers["retry-after"])).toBeGreaterThan(0);
  });
});

describe("the Dataverse emulator's concurrency limit", () => {
  let emu: RunningEmulator;
  beforeAll(async () => {
    emu = await startEmulator({
      seed: "dataverse-concurrency",
      startTime: new Date("2026-03-02T00:00:00Z"),
      tenant: { apps: 4, days: 1 },
      dataverse: { missingAppEvery: 0, maxConcurrent: 2, latencyMs: 300 },
    });
  });
  afterAll(async () => emu?.stop());

  it("answers 429 with Retry-After to requests beyond the concurrent limit, and serves the rest", async () => {
    const url = emu.dataverse!.url;
    const token = await getToken(emu, `${url}/.default`);
    const app = emu.dataverse!.seededAppIds()[0];
    const answers = await Promise.all(
      Array.from({ length: 5 }, () =>
        send(emu.caCertPem, "GET", `${url}${API}/admin_apps(${app})`, {
          headers: { Authorization: `Bearer ${token}` },
        }),
      ),
    );
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([200, 200, 429, 429, 429]);
    const rejected = answers.find((a) => a.status === 429)!;
    expect(JSON.parse(rejected.body).error.code).toBe("0x80072326");
    expect(rejected.headers["retry-after"]).toBe("1");
    expect(emu.dataverse!.counters().peakConcurrent).toBe(2);
  });
});
