import { describe, expect, it } from "vitest";
import { loadConfig } from "../../../../sync-runtime/src/app/config";
import { ConfigError } from "../../../../sync-runtime/src/core/errors";

const base = {
  AUDIT_TENANT_ID: "11111111-2222-3333-4444-555555555555",
  AUDIT_CLIENT_ID: "66666666-7777-8888-9999-000000000000",
  AUDIT_CLIENT_SECRET: "s3cr~et.value",
  AUDIT_STORAGE_CONNECTION_STRING: "UseDevelopmentStorage=true",
};

const AUDIENCE = {
  commercial: "https://manage.office.com",
  gcc: "https://manage-gcc.office.com",
  gcchigh: "https://manage.office365.us",
  dod: "https://manage.protection.apps.mil",
};

function refused(env: Record<string, string>): string {
  try {
    loadConfig({ ...base, ...env });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).key).toBe("AUDIT_DATAVERSE_URL");
    return (err as Error).message;
  }
  throw new Error("loadConfig accepted the environment");
}

describe("AUDIT_DATAVERSE_URL", () => {
  it("is off when unset", () => {
    expect(loadConfig(base).dataverseUrl).toBeUndefined();
  });

  it.each([
    ["commercial", "https://contoso.crm.dynamics.com/"],
    ["commercial", "https://contoso.crm4.dynamics.com"],
    ["commercial", "https://contoso.crm11.dynamics.com"],
    ["gcc", "https://contoso.crm9.dynamics.com"],
    ["gcchigh", "https://contoso.crm.microsoftdynamics.us"],
    ["dod", "https://contoso.crm.appsplatform.us"],
  ] as const)("accepts a %s environment %s (origin kept, slash dropped)", (cloud, url) => {
    const c = loadConfig({ ...base, AUDIT_AUDIENCE: AUDIENCE[cloud], AUDIT_DATAVERSE_URL: url });
    expect(c.dataverseUrl).toBe(new URL(url).origin);
  });

  it.each([
    ["commercial", "https://contoso.crm9.dynamics.com", /gcc environment/],
    ["gcc", "https://contoso.crm.dynamics.com", /commercial environment/],
    ["gcchigh", "https://contoso.crm9.dynamics.com", /gcc environment.*gcchigh/],
    ["dod", "https://contoso.crm.microsoftdynamics.us", /gcchigh environment/],
    ["commercial", "https://contoso.example.com", /not a Dataverse host of the commercial cloud/],
    ["commercial", "http://contoso.crm.dynamics.com", /https/],
    ["commercial", "https://contoso.crm.dynamics.com/api/data/v9.2", /root URL only/],
    ["commercial", "contoso.crm.dynamics.com", /not a URL/],
  ] as const)("refuses for %s: %s", (cloud, url, message) => {
    expect(refused({ AUDIT_AUDIENCE: AUDIENCE[cloud], AUDIT_DATAVERSE_URL: url })).toMatch(message);
  });

  it("off the known clouds (an emulator), only the audience's own host", () => {
    const local = { AUDIT_AUDIENCE: "https://127.0.0.1:4443" };
    expect(
      loadConfig({ ...base, ...local, AUDIT_DATAVERSE_URL: "https://127.0.0.1:5443" }).dataverseUrl,
    ).toBe("https://127.0.0.1:5443");
    expect(refused({ ...local, AUDIT_DATAVERSE_URL: "https://contoso.crm.dynamics.com" })).toMatch(
      /must be on its host \(127\.0\.0\.1\)/,
    );
  });
});

describe("AUDIT_DATAVERSE_USER_DETAILS", () => {
  it("is off unless set to true, and refuses anything but true or false, naming itself", () => {
    expect(loadConfig(base).dataverseUserDetails).toBe(false);
    expect(loadConfig({ ...base, AUDIT_DATAVERSE_USER_DETAILS: "true" }).dataverseUserDetails).toBe(
      true,
    );
    expect(() => loadConfig({ ...base, AUDIT_DATAVERSE_USER_DETAILS: "yes" })).toThrow(
      /AUDIT_DATAVERSE_USER_DETAILS=yes is not true or false: .*User\.Read\.All/,
    );
  });
});

describe("AUDIT_GRAPH_USERS_ENDPOINT", () => {
  it("defaults to the Graph of the audience's cloud: GCC High and DoD have their own", () => {
    const expected = {
      commercial: "https://graph.microsoft.com",
      gcc: "https://graph.microsoft.com",
      gcchigh: "https://graph.microsoft.us",
      dod: "https://dod-graph.microsoft.us",
    };
    for (const [cloud, audience] of Object.entries(AUDIENCE)) {
      const c = loadConfig({ ...base, AUDIT_AUDIENCE: audience });
      expect(c.graphUsersEndpoint, cloud).toBe(expected[cloud as keyof typeof expected]);
      // Users are read there even where the audit log query API is not offered.
      expect(c.graphAvailable, cloud).toBe(cloud === "commercial" || cloud === "gcc");
    }
  });

  it("off the known clouds (an emulator), defaults to AUDIT_GRAPH_ENDPOINT; a given one wins", () => {
    const local = { AUDIT_AUDIENCE: "https://127.0.0.1:4443" };
    expect(
      loadConfig({ ...base, ...local, AUDIT_GRAPH_ENDPOINT: "https://127.0.0.1:4443/graph" })
        .graphUsersEndpoint,
    ).toBe("https://127.0.0.1:4443/graph");
    expect(
      loadConfig({
        ...base,
        AUDIT_AUDIENCE: AUDIENCE.gcchigh,
        AUDIT_GRAPH_USERS_ENDPOINT: "https://graph.microsoft.us/",
      }).graphUsersEndpoint,
    ).toBe("https://graph.microsoft.us");
  });

  it("refuses another cloud's Graph and plain http, naming itself and the right value", () => {
    const error = (env: Record<string, string>) => {
      try {
        loadConfig({ ...base, ...env });
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return err as ConfigError;
      }
      throw new Error("loadConfig accepted the environment");
    };
    const global = error({
      AUDIT_AUDIENCE: AUDIENCE.dod,
      AUDIT_GRAPH_USERS_ENDPOINT: "https://graph.microsoft.com",
    });
    expect(global.key).toBe("AUDIT_GRAPH_USERS_ENDPOINT");
    expect(global.message).toMatch(
      /another cloud's Microsoft Graph.*set https:\/\/dod-graph\.microsoft\.us/,
    );
    expect(
      error({
        AUDIT_AUDIENCE: AUDIENCE.commercial,
        AUDIT_GRAPH_USERS_ENDPOINT: "https://graph.microsoft.us",
      }).message,
    ).toMatch(/set https:\/\/graph\.microsoft\.com/);
    expect(error({ AUDIT_GRAPH_USERS_ENDPOINT: "http://graph.microsoft.com" }).key).toBe(
      "AUDIT_GRAPH_USERS_ENDPOINT",
    );
  });
});
