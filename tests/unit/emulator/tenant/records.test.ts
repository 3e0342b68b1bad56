import { describe, expect, it } from "vitest";
import { noiseRecord, powerAppsRecord } from "../../../../emulator/tenant/records";

const ANCHOR = Date.parse("2026-05-20T12:00:00Z");

describe("record bodies", () => {
  const base = {
    id: "e2a84675-8952-4d91-a2ea-4d89f310f1a7",
    timeMs: Date.parse("2026-05-19T13:17:34Z"),
    operation: "LaunchPowerApp" as const,
    organizationId: "33333333-3333-3333-3333-333333333333",
    userObjectId: "7ff1e0f1-e2a4-48a0-874e-34db43893df1",
    upn: "AmberR@CONTOSO.OnMicrosoft.com",
    appId: "6c39e97c-6ddd-4a37-afd4-494a605925cf",
    appName: "TestEmptyApp",
    environmentId: "aa289efd-09f4-eaeb-bbb8-c08fc9e27d09",
    legacy: false,
  };

  it("writes the current schema as RecordType 256 with a PropertyCollection", () => {
    const r = powerAppsRecord(base, "s") as Record<string, unknown> & {
      PropertyCollection: { Name: string; Value: string }[];
    };
    expect(r).toMatchObject({
      Id: base.id,
      RecordType: 256,
      CreationTime: "2026-05-19T13:17:34",
      Operation: "LaunchPowerApp",
      Workload: "PowerPlatform",
      UserId: base.upn,
      UserKey: base.userObjectId,
      EnvironmentId: base.environmentId,
    });
    const props = Object.fromEntries(r.PropertyCollection.map((p) => [p.Name, p.Value]));
    expect(props).toMatchObject({
      "powerplatform.analytics.resource.power_app.id": base.appId,
      "powerplatform.analytics.resource.power_app.display_name": "TestEmptyApp",
      "powerplatform.analytics.resource.environment.id": base.environmentId,
      "enduser.principal_name": base.upn,
    });
    const unparsed = powerAppsRecord({ ...base, appId: null }, "s") as {
      PropertyCollection: { Name: string }[];
    };
    expect(unparsed.PropertyCollection.map((p) => p.Name)).not.toContain(
      "powerplatform.analytics.resource.power_app.id",
    );
  });

  it("writes the older schema as RecordType 45 with AppName and EnvironmentName", () => {
    const r = powerAppsRecord({ ...base, legacy: true }, "s");
    expect(r).toMatchObject({
      RecordType: 45,
      Workload: "PowerApps",
      AppName: base.appId,
      EnvironmentName: base.environmentId,
    });
    expect(r).not.toHaveProperty("PropertyCollection");
    expect(powerAppsRecord({ ...base, legacy: true, appId: null }, "s")).not.toHaveProperty(
      "AppName",
    );
  });

  it("generates noise deterministically from the blob and index alone", () => {
    const a = noiseRecord("s", "Audit.SharePoint", "blob-1", 3, ANCHOR, "org", "contoso.com");
    expect(noiseRecord("s", "Audit.SharePoint", "blob-1", 3, ANCHOR, "org", "contoso.com")).toEqual(
      a,
    );
    expect(
      noiseRecord("s", "Audit.SharePoint", "blob-1", 4, ANCHOR, "org", "contoso.com"),
    ).not.toEqual(a);
    expect(a.Workload === "SharePoint" || a.Workload === "OneDrive").toBe(true);
  });
});
