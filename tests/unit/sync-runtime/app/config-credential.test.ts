import { describe, expect, it } from "vitest";
import { loadConfig, secretValues } from "../../../../sync-runtime/src/app/config";
import { ConfigError } from "../../../../sync-runtime/src/core/errors";

const TENANT = "11111111-2222-3333-4444-555555555555";
const CLIENT = "66666666-7777-8888-9999-000000000000";
const IDENTITY = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
const SECRET = "s3cr~et.value";
const base = {
  AUDIT_TENANT_ID: TENANT,
  AUDIT_CLIENT_ID: CLIENT,
  AUDIT_STORAGE_CONNECTION_STRING: "UseDevelopmentStorage=true",
};

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error("loadConfig accepted the environment");
}

describe("the runtime's credential (AUDIT_CREDENTIAL)", () => {
  it("uses the secret when only a secret is given, and redacts it", () => {
    const c = loadConfig({ ...base, AUDIT_CLIENT_SECRET: SECRET });
    expect(c.credential).toEqual({ kind: "secret", secret: SECRET });
    expect(secretValues(c)).toContain(SECRET);
  });

  it("uses the federated assertion of AZURE_CLIENT_ID when no secret is given", () => {
    const c = loadConfig({ ...base, AZURE_CLIENT_ID: IDENTITY });
    expect(c.credential).toEqual({
      kind: "federated",
      identityClientId: IDENTITY,
      audience: "api://AzureADTokenExchange",
    });
    // Nothing secret in the configuration: the assertion is fetched at run time.
    expect(secretValues(c)).toEqual(["UseDevelopmentStorage=true"]);
  });

  it("takes the token exchange audience of Azure Government from its authority, or as given", () => {
    const gov = loadConfig({
      ...base,
      AZURE_CLIENT_ID: IDENTITY,
      AUDIT_CREDENTIAL: "federated",
      AUDIT_AUTHORITY: "https://login.microsoftonline.us",
      AUDIT_AUDIENCE: "https://manage.office365.us",
    });
    expect(gov.credential).toMatchObject({ audience: "api://AzureADTokenExchangeUSGov" });
    const given = loadConfig({
      ...base,
      AZURE_CLIENT_ID: IDENTITY,
      AUDIT_FEDERATED_AUDIENCE: "api://AzureADTokenExchangeUSGov",
    });
    expect(given.credential).toMatchObject({ audience: "api://AzureADTokenExchangeUSGov" });
    const scope = configError({
      ...base,
      AZURE_CLIENT_ID: IDENTITY,
      AUDIT_FEDERATED_AUDIENCE: "api://AzureADTokenExchange/.default",
    });
    expect(scope.key).toBe("AUDIT_FEDERATED_AUDIENCE");
  });

  it("refuses two credentials at once, naming what to remove, without echoing the secret", () => {
    const err = configError({
      ...base,
      AUDIT_CREDENTIAL: "federated",
      AUDIT_CLIENT_SECRET: SECRET,
      AZURE_CLIENT_ID: IDENTITY,
    });
    expect(err.key).toBe("AUDIT_CLIENT_SECRET");
    expect(err.message).toMatch(/exactly one credential/);
    expect(err.message).toMatch(/Remove AUDIT_CLIENT_SECRET/);
    expect(err.message).not.toContain(SECRET);
  });

  it("refuses a credential without what it needs, and an unknown kind", () => {
    const noSecret = configError({
      ...base,
      AUDIT_CREDENTIAL: "secret",
      AZURE_CLIENT_ID: IDENTITY,
    });
    expect(noSecret.key).toBe("AUDIT_CLIENT_SECRET");
    const noIdentity = configError({ ...base, AUDIT_CREDENTIAL: "federated" });
    expect(noIdentity.key).toBe("AZURE_CLIENT_ID");
    expect(noIdentity.message).toMatch(/user-assigned managed identity/);
    const nothing = configError(base);
    expect(nothing.key).toBe("AZURE_CLIENT_ID");
    expect(nothing.message).toMatch(/No credential: set AUDIT_CLIENT_SECRET .* or AZURE_CLIENT_ID/);
    const unknown = configError({ ...base, AUDIT_CREDENTIAL: "certificate" });
    expect(unknown.key).toBe("AUDIT_CREDENTIAL");
    expect(unknown.message).toContain("secret, federated");
    const notGuid = configError({ ...base, AZURE_CLIENT_ID: "my-identity" });
    expect(notGuid.key).toBe("AZURE_CLIENT_ID");
  });
});

describe("how far back a first pass reads", () => {
  it("reads all 7 days the Management API holds and 30 days of Graph by default", () => {
    const c = loadConfig({ ...base, AZURE_CLIENT_ID: IDENTITY });
    expect(c.firstRunMs).toBe(168 * 3_600_000);
    expect(c.graphFirstRunMs).toBe(30 * 86_400_000);
  });

  it("lets both be lowered, Graph's up to the audit retention of 180 days", () => {
    const c = loadConfig({
      ...base,
      AZURE_CLIENT_ID: IDENTITY,
      AUDIT_FIRST_RUN_HOURS: "24",
      AUDIT_GRAPH_BACKFILL_DAYS: "180",
    });
    expect(c.firstRunMs).toBe(24 * 3_600_000);
    expect(c.graphFirstRunMs).toBe(180 * 86_400_000);
    expect(
      configError({ ...base, AZURE_CLIENT_ID: IDENTITY, AUDIT_GRAPH_BACKFILL_DAYS: "181" }).key,
    ).toBe("AUDIT_GRAPH_BACKFILL_DAYS");
  });
});
