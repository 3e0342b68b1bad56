import { describe, expect, it } from "vitest";
import {
  classifyRecord,
  creationTimeIso,
  parseCreationTime,
} from "../../../../sync-runtime/src/domain/records";

// A sanitised real LaunchPowerApp record in the current (Purview, RecordType 256) schema.
const purview = {
  Id: "e2a84675-8952-4d91-a2ea-4d89f310f1a7",
  RecordType: 256,
  CreationTime: "2026-05-19T13:17:34",
  Operation: "LaunchPowerApp",
  OrganizationId: "33333333-3333-3333-3333-333333333333",
  UserType: 2,
  UserKey: "7ff1e0f1-e2a4-48a0-874e-34db43893df1",
  Workload: "PowerPlatform",
  ResultStatus: "Succeeded",
  UserId: "AmberR@CONTOSO.OnMicrosoft.com",
  EnvironmentId: "aa289efd-09f4-eaeb-bbb8-c08fc9e27d09",
  PropertyCollection: [
    { Name: "powerplatform.analytics.resource.power_app.display_name", Value: "TestEmptyApp" },
    {
      Name: "powerplatform.analytics.resource.power_app.id",
      Value: "6c39e97c-6ddd-4a37-afd4-494a605925cf",
    },
    {
      Name: "powerplatform.analytics.resource.environment.id",
      Value: "aa289efd-09f4-eaeb-bbb8-c08fc9e27d09",
    },
    { Name: "powerplatform.analytics.activity.name", Value: "LaunchPowerApp" },
    { Name: "enduser.principal_name", Value: "AmberR@CONTOSO.OnMicrosoft.com" },
  ],
};

const legacy = {
  Id: "0b7e3c1a-1111-4d91-a2ea-4d89f310f1a7",
  RecordType: 45,
  CreationTime: "2024-03-01T08:00:00",
  Operation: "DeletePowerApp",
  Workload: "PowerApps",
  UserId: "bob@contoso.com",
  AppName: "9f0c3b2e-6ddd-4a37-afd4-494a605925cf",
  EnvironmentName: "Default-33333333-3333-3333-3333-333333333333",
};

describe("classifyRecord", () => {
  it("reads a launch in the current (Purview) schema from PropertyCollection", () => {
    expect(classifyRecord(purview)).toEqual({
      type: "event",
      event: {
        kind: "launch",
        recordId: purview.Id,
        creationTime: "2026-05-19T13:17:34.000Z",
        appId: "6c39e97c-6ddd-4a37-afd4-494a605925cf",
        appName: "TestEmptyApp",
        environmentId: "aa289efd-09f4-eaeb-bbb8-c08fc9e27d09",
        userUpn: "AmberR@CONTOSO.OnMicrosoft.com",
        userKey: "7ff1e0f1-e2a4-48a0-874e-34db43893df1",
        schema: "purview",
      },
    });
  });

  it("reads PropertyCollection names in any case, with stray spaces", () => {
    const shouting = {
      ...purview,
      PropertyCollection: purview.PropertyCollection.map((p) => ({
        Name: ` ${p.Name.toUpperCase()} `,
        Value: p.Value,
      })),
    };
    expect(classifyRecord(shouting)).toEqual(classifyRecord(purview));
  });

  it("reads a delete in the older schema from AppName and EnvironmentName", () => {
    const c = classifyRecord(legacy);
    expect(c.type).toBe("event");
    if (c.type !== "event") return;
    expect(c.event).toMatchObject({
      kind: "delete",
      appId: legacy.AppName,
      environmentId: legacy.EnvironmentName,
      appName: null,
      schema: "legacy",
    });
  });

  it("counts a launch with neither app id form as unparsed instead of dropping it", () => {
    const { PropertyCollection: _, ...bare } = purview;
    const c = classifyRecord(bare);
    expect(c).toMatchObject({ type: "unparsed", recordId: purview.Id });
  });

  it("keeps other operations and workloads as 'other' (archived, not interpreted)", () => {
    expect(
      classifyRecord({ ...purview, Operation: "FileAccessed", Workload: "SharePoint" }),
    ).toEqual({
      type: "other",
      recordId: purview.Id,
      creationTime: "2026-05-19T13:17:34.000Z",
    });
  });

  it("takes the two operations in any case, and no other name (not even an object's own)", () => {
    expect(classifyRecord({ ...purview, Operation: " launchPOWERAPP " }).type).toBe("event");
    expect(classifyRecord({ ...legacy, Operation: "deletepowerapp" }).type).toBe("event");
    for (const Operation of ["constructor", "toString", "__proto__", "LaunchPowerApps", ""])
      expect(classifyRecord({ ...purview, Operation }).type, Operation).toBe("other");
  });

  it("marks non-objects and records without Id or time as unparsed", () => {
    expect(classifyRecord(42).type).toBe("unparsed");
    expect(classifyRecord({ ...purview, Id: undefined }).type).toBe("unparsed");
    expect(classifyRecord({ ...purview, CreationTime: "yesterday" }).type).toBe("unparsed");
  });
});

describe("parseCreationTime", () => {
  it("reads a time without zone as UTC and keeps an explicit zone", () => {
    expect(parseCreationTime("2026-05-19T13:17:34")?.toISOString()).toBe(
      "2026-05-19T13:17:34.000Z",
    );
    expect(parseCreationTime("2026-05-19T13:17:34.5")?.toISOString()).toBe(
      "2026-05-19T13:17:34.500Z",
    );
    expect(parseCreationTime("2026-05-19T13:17:34+02:00")?.toISOString()).toBe(
      "2026-05-19T11:17:34.000Z",
    );
    expect(parseCreationTime("2026-13-45T00:00:00")).toBeUndefined();
  });
});

describe("creationTimeIso", () => {
  it("equals parseCreationTime's toISOString for every field at and past its edges", () => {
    const pad = (v: number) => String(v).padStart(2, "0");
    const cases = ["2026-05-19T13:17:34.5", "2026-05-19T13:17:34Z", "2026-05-19T13:17", " x", ""];
    for (const year of ["0000", "1999", "2024", "2026", "9999"])
      for (const month of [0, 1, 2, 4, 12, 13])
        for (const day of [0, 1, 28, 29, 30, 31, 32])
          for (const [h, m, sec] of [
            [0, 0, 0],
            [23, 59, 59],
            [24, 0, 0],
            [12, 60, 0],
            [12, 0, 60],
          ])
            cases.push(`${year}-${pad(month)}-${pad(day)}T${pad(h)}:${pad(m)}:${pad(sec)}`);
    for (const c of cases) expect(creationTimeIso(c), c).toBe(parseCreationTime(c)?.toISOString());
    // The API's form, with a day every month has, takes the fast path; the answer is still ISO.
    expect(creationTimeIso("2026-05-19T13:17:34")).toBe("2026-05-19T13:17:34.000Z");
    expect(creationTimeIso(1779196654000)).toBeUndefined();
  });
});
