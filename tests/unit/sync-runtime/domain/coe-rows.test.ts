import { describe, expect, it } from "vitest";
import {
  appUpdate,
  auditLogRow,
  coeAppOf,
  coeUserOf,
  type CoeApp,
} from "../../../../sync-runtime/src/domain/coe-rows";
import type { PowerAppEvent } from "../../../../sync-runtime/src/domain/records";

const launch = (over: Partial<PowerAppEvent> = {}): PowerAppEvent => ({
  kind: "launch",
  recordId: "e2a84675-8952-4d91-a2ea-4d89f310f1a7",
  creationTime: "2026-05-19T13:17:34.000Z",
  appId: "6c39e97c-6ddd-4a37-afd4-494a605925cf",
  appName: "TestEmptyApp",
  environmentId: "aa289efd-09f4-eaeb-bbb8-c08fc9e27d09",
  userUpn: "AmberR@CONTOSO.OnMicrosoft.com",
  userKey: "7ff1e0f1-e2a4-48a0-874e-34db43893df1",
  schema: "purview",
  ...over,
});

/** The app as admin_apps has it (the CoE inventory's display name, not the record's). */
const inventory: CoeApp = {
  displayName: "Test Empty App (inventory)",
  usesPremiumApi: true,
  lastLaunchedOn: null,
  deleted: false,
  deletedOn: null,
  etag: 'W/"1001"',
};

describe("auditLogRow", () => {
  it("writes what Sync Audit Logs (V2) and Update Data (V2) together write for a known app", () => {
    expect(auditLogRow(launch(), { app: inventory, environmentName: "Contoso (default)" })).toEqual(
      {
        // Sync Audit Logs (V2): the record's columns, the title, the lookup; its Graph path the user id.
        admin_title: "Power App Launch 6c39e97c-6ddd-4a37-afd4-494a605925cf - 2026-05-19T13:17:34",
        admin_creationtime: "2026-05-19T13:17:34Z",
        admin_appid: "6c39e97c-6ddd-4a37-afd4-494a605925cf",
        admin_operation: "LaunchPowerApp",
        admin_workload: "PowerPlatform",
        admin_userupn: "AmberR@CONTOSO.OnMicrosoft.com",
        admin_userid: "7ff1e0f1-e2a4-48a0-874e-34db43893df1",
        "admin_AppLookup@odata.bind": "admin_apps(6c39e97c-6ddd-4a37-afd4-494a605925cf)",
        // Update Data (V2): the inventory's name, the environment's display name, premium.
        admin_appname: "Test Empty App (inventory)",
        admin_appenvironment: "Contoso (default)",
        admin_appispremium: true,
      },
    );
  });

  it("writes an app not in admin_apps without lookup or premium, named as the record names it", () => {
    const row = auditLogRow(launch({ schema: "legacy", userUpn: null, userKey: null }), {});
    expect(row["admin_AppLookup@odata.bind"]).toBeUndefined();
    expect(row.admin_appispremium).toBeUndefined();
    expect(row.admin_appname).toBe("TestEmptyApp");
    // No environment display name known: the column stays empty rather than holding an id.
    expect(row.admin_appenvironment).toBeUndefined();
    expect(row.admin_workload).toBe("PowerApps");
    expect(row.admin_userupn).toBeUndefined();
    expect(row.admin_userid).toBeUndefined();
  });

  it("reads an admin_apps row of the Web API, ETag included", () => {
    expect(
      coeAppOf({
        "@odata.etag": 'W/"1001"',
        admin_appid: "6c39e97c-6ddd-4a37-afd4-494a605925cf",
        admin_displayname: "Test Empty App (inventory)",
        admin_usespremiumapi: true,
        admin_applastlaunchedon: null,
        admin_appdeleted: false,
        admin_appdeletedon: null,
      }),
    ).toEqual(inventory);
  });

  it("cuts every text to its column's length", () => {
    const row = auditLogRow(
      launch({ appName: "n".repeat(400), userUpn: `${"u".repeat(400)}@x`, appId: "a".repeat(150) }),
      {},
    );
    expect((row.admin_appname as string).length).toBe(300);
    expect((row.admin_userupn as string).length).toBe(300);
    expect((row.admin_appid as string).length).toBe(100);
    expect((row.admin_title as string).length).toBeLessThanOrEqual(300);
  });
});

describe("appUpdate", () => {
  const none = { lastLaunchedOn: null, deleted: false, deletedOn: null };

  it("moves the last launch forward only", () => {
    const events = [
      launch({ creationTime: "2026-05-19T10:00:00.000Z" }),
      launch({ creationTime: "2026-05-19T12:00:00.000Z" }),
    ];
    expect(appUpdate(none, events)?.body).toEqual({
      admin_applastlaunchedon: "2026-05-19T12:00:00Z",
    });
    expect(appUpdate({ ...none, lastLaunchedOn: "2026-05-20T00:00:00Z" }, events)).toBeUndefined();
  });

  it("marks a deletion once, with the delete's time", () => {
    const del = launch({ kind: "delete", creationTime: "2026-05-21T08:00:00.000Z" });
    const first = appUpdate(none, [del]);
    expect(first?.body).toEqual({
      admin_appdeleted: true,
      admin_appdeletedon: "2026-05-21T08:00:00Z",
    });
    expect(appUpdate(first!.next, [del])).toBeUndefined();
  });
});

describe("user details (AUDIT_DATAVERSE_USER_DETAILS)", () => {
  it("reads a Graph user: empty properties stay empty, userType Guest is a guest", () => {
    expect(
      coeUserOf({
        id: "7ff1e0f1-e2a4-48a0-874e-34db43893df1",
        displayName: "Amber Rodriguez",
        city: "",
        country: "Ireland",
        department: null,
        jobTitle: "Analyst",
        userType: "Guest",
      }),
    ).toEqual({
      displayName: "Amber Rodriguez",
      city: null,
      country: "Ireland",
      department: null,
      jobTitle: "Analyst",
      guest: true,
    });
    expect(coeUserOf({ userType: "Member" }).guest).toBe(false);
  });

  it("writes the user columns Update Data (V2) fills, cut to their 300 characters", () => {
    const user = coeUserOf({
      displayName: "x".repeat(400),
      city: "Dublin",
      country: "Ireland",
      department: "Finance",
      jobTitle: null,
      userType: "Member",
    });
    const row = auditLogRow(launch(), { user });
    expect(row).toMatchObject({
      admin_username: "x".repeat(300),
      admin_usercity: "Dublin",
      admin_usercountry: "Ireland",
      admin_userdepartment: "Finance",
      admin_userisguest: false,
    });
    // A property Graph has empty is left out, not written as an empty string.
    expect("admin_userjobtitle" in row).toBe(false);
    // Without details (off, a deleted user, Graph failing) no user column at all.
    expect(
      Object.keys(auditLogRow(launch(), {})).filter((k) => k.startsWith("admin_user")),
    ).toEqual(["admin_userupn", "admin_userid"]);
  });
});
