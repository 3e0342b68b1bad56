import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type RunningEmulator } from "../../../emulator/index";
import { batchBody, errorCode, getToken, send } from "./helpers";

const API = "/api/data/v9.2";
const T = "2026-03-01T10:00:00Z";

/**
 * The Web API behaviours a Dataverse client depends on, each as Microsoft Learn's Web API pages
 * show it (request and expected answer), driven over HTTPS with hand-written requests.
 */
describe("the Dataverse emulator's Web API, as the docs show it", () => {
  let emu: RunningEmulator;
  let token: string;
  let url: string;
  let apps: string[];

  beforeAll(async () => {
    emu = await startEmulator({
      seed: "dataverse-web-api",
      startTime: new Date("2026-03-02T00:00:00Z"),
      tenant: { apps: 5, days: 1 },
      dataverse: { missingAppEvery: 0 },
    });
    url = emu.dataverse!.url;
    token = await getToken(emu, `${url}/.default`);
    apps = emu.dataverse!.seededAppIds();
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
  const batch = (parts: Parameters<typeof batchBody>[1], prefer?: string) => {
    const b = batchBody(url, parts);
    return send(emu.caCertPem, "POST", `${url}${API}/$batch`, {
      headers: {
        Authorization: `Bearer ${token}`,
        "Content-Type": `multipart/mixed; boundary=${b.boundary}`,
        ...(prefer ? { Prefer: prefer } : {}),
      },
      body: b.body,
    });
  };
  const auditIds = () => emu.dataverse!.rows("admin_auditlogs").map((r) => r.admin_auditlogid);

  it("answers 400 for a whole $batch whose change set fails, with the failure and nothing of the change set written", async () => {
    const [a, b, c] = ["a1", "a2", "a3"].map((s) => `44444444-0000-0000-0000-0000000000${s}`);
    const res = await batch([
      [
        { method: "PATCH", path: `admin_auditlogs(${a})`, body: { admin_creationtime: T } },
        {
          method: "PATCH",
          path: `admin_auditlogs(${b})`,
          body: { admin_creationtime: T, admin_appid: "x".repeat(101) },
        },
      ],
      { method: "PATCH", path: `admin_auditlogs(${c})`, body: { admin_creationtime: T } },
    ]);
    // "Without setting the Prefer: odata.continue-on-error request header, the batch fails on
    // the first request in the batch. The batch error represents the error of the first
    // failing request." (Execute batch operations using the Web API, Handling errors)
    expect(res.status).toBe(400);
    expect(res.headers["content-type"]).toMatch(/^multipart\/mixed; boundary=batchresponse_/);
    expect(res.body).toMatch(/HTTP\/1\.1 400 Bad Request/);
    expect(res.body).toContain('"code":"0x80044331"');
    expect(res.body).not.toContain("changesetresponse_");
    expect(auditIds()).not.toContain(a);
    expect(auditIds()).not.toContain(c);
  });

  it("answers 200 under Prefer: odata.continue-on-error and goes on past a failing request", async () => {
    const [a, c] = ["b1", "b3"].map((s) => `44444444-0000-0000-0000-0000000000${s}`);
    const res = await batch(
      [
        { method: "PATCH", path: `admin_auditlogs(${a})`, body: { admin_title: "no time" } },
        { method: "PATCH", path: `admin_auditlogs(${c})`, body: { admin_creationtime: T } },
      ],
      "odata.continue-on-error",
    );
    expect(res.status).toBe(200);
    expect(res.body.match(/HTTP\/1\.1 \d+/g)).toEqual(["HTTP/1.1 400", "HTTP/1.1 204"]);
    expect(auditIds()).toContain(c);
  });

  it("keeps what a batch wrote before a failing request outside a change set, and stops there", async () => {
    const [a, b, c] = ["c1", "c2", "c3"].map((s) => `44444444-0000-0000-0000-0000000000${s}`);
    const res = await batch([
      { method: "PATCH", path: `admin_auditlogs(${a})`, body: { admin_creationtime: T } },
      { method: "PATCH", path: `admin_auditlogs(${b})`, body: { admin_nope: 1 } },
      { method: "PATCH", path: `admin_auditlogs(${c})`, body: { admin_creationtime: T } },
    ]);
    expect(res.status).toBe(400);
    expect(res.body.match(/HTTP\/1\.1 \d+/g)).toEqual(["HTTP/1.1 204", "HTTP/1.1 400"]);
    expect(auditIds()).toContain(a);
    expect(auditIds()).not.toContain(c);
  });

  it("answers 412 to If-Match with a stale ETag and applies the update with the current one", async () => {
    const app = apps[0];
    const first = await call("GET", `admin_apps(${app})?$select=admin_applastlaunchedon`);
    const etag = JSON.parse(first.body)["@odata.etag"] as string;
    expect(etag).toMatch(/^W\/"\d+"$/);
    expect(first.headers.etag).toBe(etag);
    const moved = await call(
      "PATCH",
      `admin_apps(${app})`,
      { admin_applastlaunchedon: "2026-03-01T09:00:00Z" },
      { "If-Match": etag },
    );
    expect(moved.status).toBe(204);
    // Someone else's write came in between: the same ETag is now stale.
    const stale = await call(
      "PATCH",
      `admin_apps(${app})`,
      { admin_applastlaunchedon: "2026-03-01T08:00:00Z" },
      { "If-Match": etag },
    );
    expect([stale.status, errorCode(stale)]).toEqual([412, "0x80060882"]);
    expect(emu.dataverse!.rows("admin_apps").find((r) => r.admin_appid === app)).toMatchObject({
      admin_applastlaunchedon: "2026-03-01T09:00:00Z",
    });
    // An ETag condition never creates a row.
    const absent = await call(
      "PATCH",
      "admin_apps(55555555-0000-0000-0000-000000000001)",
      { admin_displayname: "x" },
      { "If-Match": etag },
    );
    expect(absent.status).toBe(404);
  });

  it("answers 304 to a GET whose If-None-Match is the row's current ETag, and the row otherwise", async () => {
    const app = apps[1];
    const got = await call("GET", `admin_apps(${app})`);
    const etag = JSON.parse(got.body)["@odata.etag"] as string;
    const same = await call("GET", `admin_apps(${app})`, undefined, { "If-None-Match": etag });
    expect([same.status, same.body]).toEqual([304, ""]);
    // The docs' examples send `If-None-Match: null`: that is no condition at all.
    expect(
      (await call("GET", `admin_apps(${app})`, undefined, { "If-None-Match": "null" })).status,
    ).toBe(200);
    await call("PATCH", `admin_apps(${app})`, { admin_appdeleted: true });
    const changed = await call("GET", `admin_apps(${app})`, undefined, { "If-None-Match": etag });
    expect(changed.status).toBe(200);
    expect(JSON.parse(changed.body).admin_appdeleted).toBe(true);
  });

  it("returns the row written under Prefer: return=representation: 200 for PATCH, 201 for POST", async () => {
    const id = "44444444-0000-0000-0000-0000000000d1";
    const patched = await call(
      "PATCH",
      `admin_auditlogs(${id})?$select=admin_title,admin_creationtime`,
      { admin_creationtime: T, admin_title: "t", admin_operation: "LaunchPowerApp" },
      { Prefer: "return=representation" },
    );
    expect(patched.status).toBe(200);
    expect(patched.headers["preference-applied"]).toBe("return=representation");
    const row = JSON.parse(patched.body);
    expect(row).toMatchObject({ admin_auditlogid: id, admin_title: "t", admin_creationtime: T });
    expect(row.admin_operation).toBeUndefined();
    expect(row["@odata.etag"]).toMatch(/^W\/"\d+"$/);
    const plain = await call("PATCH", `admin_auditlogs(${id})`, { admin_title: "u" });
    expect([plain.status, plain.body]).toEqual([204, ""]);

    const created = await call(
      "POST",
      "admin_auditlogs",
      { admin_creationtime: T, admin_title: "posted" },
      { Prefer: "return=representation" },
    );
    expect(created.status).toBe(201);
    const newId = JSON.parse(created.body).admin_auditlogid as string;
    expect(created.headers["odata-entityid"]).toBe(`${url}${API}/admin_auditlogs(${newId})`);
    expect(auditIds()).toContain(newId);
    const again = await call("POST", "admin_auditlogs", {
      admin_auditlogid: newId,
      admin_creationtime: T,
    });
    expect(again.status).toBe(412);
  });

  it("filters a collection by a set of ids with or and with Microsoft.Dynamics.CRM.In, and selects columns", async () => {
    const [x, y] = [apps[2], apps[3]];
    const byOr = await call(
      "GET",
      `admin_apps?$select=admin_displayname&$filter=${encodeURIComponent(`admin_appid eq ${x} or admin_appid eq '${y.toUpperCase()}'`)}`,
    );
    expect(byOr.status).toBe(200);
    const body = JSON.parse(byOr.body);
    expect(body["@odata.context"]).toBe(`${url}${API}/$metadata#admin_apps(admin_displayname)`);
    expect(body.value.map((r: { admin_appid: string }) => r.admin_appid).sort()).toEqual(
      [x, y].sort(),
    );
    expect(Object.keys(body.value[0]).sort()).toEqual([
      "@odata.etag",
      "admin_appid",
      "admin_displayname",
    ]);

    const byIn = await call(
      "GET",
      `admin_apps?$select=admin_appid&$filter=${encodeURIComponent(`Microsoft.Dynamics.CRM.In(PropertyName='admin_appid',PropertyValues=['${x}','${y}'])`)}`,
    );
    expect(JSON.parse(byIn.body).value).toHaveLength(2);

    const combined = await call(
      "GET",
      `admin_apps?$filter=${encodeURIComponent(`(admin_appid eq ${x} or admin_appid eq ${y}) and admin_appdeleted ne true and not (admin_displayname eq null)`)}`,
    );
    expect(JSON.parse(combined.body).value.length).toBeGreaterThan(0);
  });

  it("refuses a filter on a column the table lacks, and a malformed one, with 400", async () => {
    const unknown = await call(
      "GET",
      `admin_apps?$filter=${encodeURIComponent("admin_nope eq 1")}`,
    );
    expect(unknown.status).toBe(400);
    expect(JSON.parse(unknown.body).error.message).toContain("admin_nope");
    const malformed = await call(
      "GET",
      `admin_apps?$filter=${encodeURIComponent("admin_appid eq")}`,
    );
    expect(malformed.status).toBe(400);
    const badSelect = await call("GET", "admin_apps?$select=admin_nope");
    expect(badSelect.status).toBe(400);
  });

  it("pages by Prefer: odata.maxpagesize with @odata.nextLink, and $top caps the answer", async () => {
    const seen: string[] = [];
    let next: string | undefined = `${url}${API}/admin_apps?$select=admin_appid`;
    let pages = 0;
    while (next) {
      const res = await send(emu.caCertPem, "GET", next, {
        headers: { Authorization: `Bearer ${token}`, Prefer: "odata.maxpagesize=2" },
      });
      expect(res.status).toBe(200);
      expect(res.headers["preference-applied"]).toBe("odata.maxpagesize=2");
      const page = JSON.parse(res.body) as {
        value: { admin_appid: string }[];
        "@odata.nextLink"?: string;
      };
      expect(page.value.length).toBeLessThanOrEqual(2);
      seen.push(...page.value.map((r) => r.admin_appid));
      next = page["@odata.nextLink"];
      if (++pages > 10) throw new Error("paging does not end");
    }
    expect(pages).toBe(3);
    expect(seen.sort()).toEqual([...apps].sort());

    const top = await call("GET", "admin_apps?$top=1", undefined, {
      Prefer: "odata.maxpagesize=2",
    });
    const topBody = JSON.parse(top.body);
    expect(topBody.value).toHaveLength(1);
    expect(topBody["@odata.nextLink"]).toBeUndefined();
  });

  it("lists UpsertMultiple in sdkmessagefilters for the CoE tables, queried as Microsoft's bulk sample does", async () => {
    const query = (table: string) =>
      call(
        "GET",
        `sdkmessagefilters?$select=sdkmessagefilterid&$filter=${encodeURIComponent(`sdkmessageid/name eq 'UpsertMultiple' and primaryobjecttypecode eq '${table}'`)}`,
      );
    expect(JSON.parse((await query("admin_auditlog")).body).value).toHaveLength(1);
    expect(JSON.parse((await query("admin_app")).body).value).toHaveLength(1);
    expect(JSON.parse((await query("account")).body).value).toHaveLength(0);
  });

  it("serves UpsertMultiple: creates and updates in one request, 204, all or nothing", async () => {
    const [n1, n2] = ["e1", "e2"].map((s) => `44444444-0000-0000-0000-0000000000${s}`);
    const type = "Microsoft.Dynamics.CRM.admin_auditlog";
    await call("PATCH", `admin_auditlogs(${n1})`, { admin_creationtime: T, admin_title: "old" });
    const ok = await call("POST", "admin_auditlogs/Microsoft.Dynamics.CRM.UpsertMultiple", {
      Targets: [
        { "@odata.type": type, "@odata.id": `admin_auditlogs(${n1})`, admin_title: "new" },
        {
          "@odata.type": type,
          admin_auditlogid: n2,
          admin_creationtime: T,
          "admin_AppLookup@odata.bind": `admin_apps(${apps[0]})`,
        },
      ],
    });
    expect([ok.status, ok.body]).toEqual([204, ""]);
    const rows = new Map(
      emu.dataverse!.rows("admin_auditlogs").map((r) => [r.admin_auditlogid, r]),
    );
    expect(rows.get(n1)).toMatchObject({ admin_title: "new", admin_creationtime: T });
    expect(rows.get(n2)).toMatchObject({ _admin_applookup_value: apps[0] });

    const [m1, m2] = ["f1", "f2"].map((s) => `44444444-0000-0000-0000-0000000000${s}`);
    const bad = await call("POST", "admin_auditlogs/Microsoft.Dynamics.CRM.UpsertMultiple", {
      Targets: [
        { "@odata.type": type, admin_auditlogid: m1, admin_creationtime: T },
        {
          "@odata.type": type,
          admin_auditlogid: m2,
          admin_creationtime: T,
          admin_appname: "n".repeat(301),
        },
      ],
    });
    expect([bad.status, errorCode(bad)]).toEqual([400, "0x80044331"]);
    expect(auditIds()).not.toContain(m1);

    const untyped = await call("POST", "admin_auditlogs/Microsoft.Dynamics.CRM.UpsertMultiple", {
      Targets: [{ admin_auditlogid: m1, admin_creationtime: T }],
    });
    expect(untyped.status).toBe(400);
    expect(JSON.parse(untyped.body).error.message).toContain("@odata.type");
  });
});

describe("a Dataverse environment without the bulk messages", () => {
  let emu: RunningEmulator;
  afterAll(async () => emu?.stop());

  it("lists no UpsertMultiple filter and refuses the message, so a client falls back to $batch", async () => {
    emu = await startEmulator({
      seed: "dataverse-no-bulk",
      startTime: new Date("2026-03-02T00:00:00Z"),
      tenant: { apps: 4, days: 1 },
      dataverse: { missingAppEvery: 0, bulkMessages: false },
    });
    const url = emu.dataverse!.url;
    const token = await getToken(emu, `${url}/.default`);
    const auth = { Authorization: `Bearer ${token}`, "Content-Type": "application/json" };
    const filters = await send(
      emu.caCertPem,
      "GET",
      `${url}${API}/sdkmessagefilters?$filter=${encodeURIComponent("sdkmessageid/name eq 'UpsertMultiple' and primaryobjecttypecode eq 'admin_auditlog'")}`,
      { headers: auth },
    );
    expect(JSON.parse(filters.body).value).toHaveLength(0);
    const refused = await send(
      emu.caCertPem,
      "POST",
      `${url}${API}/admin_auditlogs/Microsoft.Dynamics.CRM.UpsertMultiple`,
      {
        headers: auth,
        body: JSON.stringify({
          Targets: [
            { "@odata.type": "Microsoft.Dynamics.CRM.admin_auditlog", admin_creationtime: T },
          ],
        }),
      },
    );
    expect(refused.status).toBe(400);
    expect(emu.dataverse!.rows("admin_auditlogs")).toHaveLength(0);
  });
});
