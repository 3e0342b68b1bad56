import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type RunningEmulator } from "../../../emulator/index";
import { errorCode, getToken, send } from "./helpers";

const API = "/api/data/v9.2";
const q = (text: string) => encodeURIComponent(text);

/**
 * An application user made through the Web API, as the deployer does it: the root business unit
 * (its parent is null), a systemuser with `applicationid`, a role by name, the
 * systemuserroles_association; "Only application users with the inactive state can be deleted"
 * ("Manage application users in the Power Platform admin center"). And the CoE environment
 * variables: a definition by schema name, a value bound to it.
 */
describe("the Dataverse emulator's application users and environment variables", () => {
  let emu: RunningEmulator;
  let url: string;
  let admin: Record<string, string>;
  let app: Record<string, string>;

  beforeAll(async () => {
    emu = await startEmulator({
      seed: "dataverse-users",
      startTime: new Date("2026-03-02T00:00:00Z"),
      tenant: { apps: 4, days: 1 },
      dataverse: { missingAppEvery: 0, applicationUser: "missing" },
    });
    url = emu.dataverse!.url;
    const json = { "Content-Type": "application/json" };
    admin = { ...json, Authorization: `Bearer ${emu.dataverse!.administratorToken()}` };
    app = { ...json, Authorization: `Bearer ${await getToken(emu, `${url}/.default`)}` };
  });
  afterAll(async () => emu?.stop());

  const call = (who: Record<string, string>, method: string, path: string, body?: unknown) =>
    send(emu.caCertPem, method, `${url}${API}/${path}`, {
      headers: who,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const value = async (who: Record<string, string>, path: string) => {
    const res = await call(who, "GET", path);
    expect(res.status).toBe(200);
    return JSON.parse(res.body).value as Record<string, unknown>[];
  };

  it("creates, roles, deactivates and deletes the app's application user; the app gets in only in between", async () => {
    const appId = emu.tenant.clientId.toLowerCase();
    const appRead = () => call(app, "GET", "admin_apps?$top=1");
    expect(errorCode(await appRead())).toBe("0x80072560");

    const [root] = await value(
      admin,
      `businessunits?$select=businessunitid&$filter=${q("_parentbusinessunitid_value eq null")}`,
    );
    expect(root.businessunitid).toMatch(/^[0-9a-f-]{36}$/);
    expect(await value(admin, `systemusers?$filter=${q(`applicationid eq ${appId}`)}`)).toEqual([]);

    const withoutUnit = await call(admin, "POST", "systemusers", { applicationid: appId });
    expect(withoutUnit.status).toBe(400);
    const created = await call(admin, "POST", "systemusers", {
      applicationid: appId,
      "businessunitid@odata.bind": `/businessunits(${String(root.businessunitid)})`,
    });
    expect(created.status).toBe(204);
    const userId = /systemusers\(([^)]+)\)$/.exec(String(created.headers["odata-entityid"]))![1];
    const again = await call(admin, "POST", "systemusers", {
      applicationid: appId,
      "businessunitid@odata.bind": `/businessunits(${String(root.businessunitid)})`,
    });
    expect(again.status).toBe(400);
    // A user without a role is in the organization but may not write the CoE tables.
    expect(errorCode(await appRead())).toBe("0x80040220");

    const [role] = await value(
      admin,
      `roles?$select=roleid,name&$filter=${q("name eq 'Power Platform Admin SR'")}`,
    );
    const associate = await call(
      admin,
      "POST",
      `systemusers(${userId})/systemuserroles_association/$ref`,
      {
        "@odata.id": `${url}${API}/roles(${String(role.roleid)})`,
      },
    );
    expect(associate.status).toBe(204);
    expect(
      (await value(admin, `systemusers(${userId})/systemuserroles_association?$select=name`)).map(
        (r) => r.name,
      ),
    ).toEqual(["Power Platform Admin SR"]);
    expect((await appRead()).status).toBe(200);
    // The app itself may not make users or hand out roles.
    const selfService = await call(app, "POST", "systemusers", { applicationid: appId });
    expect([selfService.status, errorCode(selfService)]).toEqual([403, "0x80040220"]);

    const enabledDelete = await call(admin, "DELETE", `systemusers(${userId})`);
    expect(enabledDelete.status).toBe(400);
    expect(JSON.parse(enabledDelete.body).error.message).toContain("inactive");
    const unlink = await call(
      admin,
      "DELETE",
      `systemusers(${userId})/systemuserroles_association(${String(role.roleid)})/$ref`,
    );
    expect(unlink.status).toBe(204);
    expect(errorCode(await appRead())).toBe("0x80040220");
    expect(
      (await call(admin, "PATCH", `systemusers(${userId})`, { isdisabled: true })).status,
    ).toBe(204);
    expect(errorCode(await appRead())).toBe("0x80072560");
    expect((await call(admin, "DELETE", `systemusers(${userId})`)).status).toBe(204);
    expect(await value(admin, `systemusers?$filter=${q(`applicationid eq ${appId}`)}`)).toEqual([]);
  });

  it("finds a CoE environment variable by schema name and binds a value to it", async () => {
    const [definition] = await value(
      admin,
      `environmentvariabledefinitions?$select=environmentvariabledefinitionid,type&$filter=${q("schemaname eq 'admin_AuditLogsClientID'")}`,
    );
    expect(definition.type).toBe(100000000);
    const id = String(definition.environmentvariabledefinitionid);
    const created = await call(admin, "POST", "environmentvariablevalues", {
      schemaname: "admin_AuditLogsClientID",
      value: emu.tenant.clientId,
      "EnvironmentVariableDefinitionId@odata.bind": `/environmentvariabledefinitions(${id})`,
    });
    expect(created.status).toBe(204);
    const values = await value(
      admin,
      `environmentvariablevalues?$select=value&$filter=${q(`_environmentvariabledefinitionid_value eq ${id}`)}`,
    );
    expect(values.map((v) => v.value)).toEqual([emu.tenant.clientId]);
  });
});
