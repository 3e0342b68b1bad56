import { describe, expect, it } from "vitest";
import {
  describeVariables,
  loadConfig,
  secretValues,
  VARIABLES,
} from "../../../../sync-runtime/src/app/config";
import { ConfigError } from "../../../../sync-runtime/src/core/errors";

const TENANT = "11111111-2222-3333-4444-555555555555";
const CLIENT = "66666666-7777-8888-9999-000000000000";
const base = {
  AUDIT_TENANT_ID: TENANT,
  AUDIT_CLIENT_ID: CLIENT,
  AUDIT_CLIENT_SECRET: "s3cr~et.value",
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

describe("loadConfig", () => {
  it("applies the documented defaults (commercial cloud, Audit.General, publisher = tenant)", () => {
    const c = loadConfig(base);
    expect(c.authority).toBe("https://login.windows.net");
    expect(c.audience).toBe("https://manage.office.com");
    expect(c.contentTypes).toEqual(["Audit.General"]);
    expect(c.publisherId).toBe(TENANT);
    expect(c.rateLimitPerMinute).toBe(1800);
    expect(c.storage).toEqual({
      kind: "connection-string",
      connectionString: "UseDevelopmentStorage=true",
    });
  });

  it("reads a sovereign cloud, content types and managed-identity storage", () => {
    const c = loadConfig({
      AUDIT_TENANT_ID: TENANT,
      AUDIT_CLIENT_ID: CLIENT,
      AUDIT_CLIENT_SECRET: "x~y",
      AUDIT_AUTHORITY: "https://login.microsoftonline.us/",
      AUDIT_AUDIENCE: "https://manage.office365.us",
      AUDIT_CONTENT_TYPES: "Audit.General, Audit.SharePoint,Audit.General",
      AUDIT_BLOB_ENDPOINT: "https://a.blob.core.usgovcloudapi.net",
      AUDIT_TABLE_ENDPOINT: "https://a.table.core.usgovcloudapi.net",
      AZURE_CLIENT_ID: CLIENT,
    });
    expect(c.authority).toBe("https://login.microsoftonline.us");
    expect(c.contentTypes).toEqual(["Audit.General", "Audit.SharePoint"]);
    expect(c.storage.kind).toBe("managed-identity");
  });

  it("names the missing variable and how to set it", () => {
    const err = configError({ ...base, AUDIT_TENANT_ID: "" });
    expect(err.key).toBe("AUDIT_TENANT_ID");
    expect(err.message).toContain("--help");
  });

  it("rejects a client secret id pasted instead of the secret value", () => {
    const err = configError({ ...base, AUDIT_CLIENT_SECRET: CLIENT });
    expect(err.key).toBe("AUDIT_CLIENT_SECRET");
    expect(err.message).toMatch(/secret ID/);
    expect(err.message).not.toContain(CLIENT);
  });

  it("rejects unknown content types, non-https authorities and bad numbers", () => {
    expect(configError({ ...base, AUDIT_CONTENT_TYPES: "Audit.Genral" }).message).toContain(
      "Audit.General",
    );
    expect(configError({ ...base, AUDIT_AUTHORITY: "http://login.windows.net" }).key).toBe(
      "AUDIT_AUTHORITY",
    );
    expect(configError({ ...base, AUDIT_BLOB_CONCURRENCY: "0" }).key).toBe(
      "AUDIT_BLOB_CONCURRENCY",
    );
  });

  it("requires exactly one storage option, and the identity with endpoints", () => {
    const { AUDIT_STORAGE_CONNECTION_STRING: _, ...noStorage } = base;
    expect(configError(noStorage).message).toMatch(
      /AUDIT_STORAGE_CONNECTION_STRING.*AUDIT_BLOB_ENDPOINT/,
    );
    expect(
      configError({ ...base, AUDIT_BLOB_ENDPOINT: "https://a.blob.core.windows.net" }).message,
    ).toMatch(/only one/);
    expect(
      configError({
        ...noStorage,
        AUDIT_BLOB_ENDPOINT: "https://a.blob.core.windows.net",
        AUDIT_TABLE_ENDPOINT: "https://a.table.core.windows.net",
      }).key,
    ).toBe("AZURE_CLIENT_ID");
  });

  it("lists the secret and the storage account key as values to redact", () => {
    const c = loadConfig({
      ...base,
      AUDIT_STORAGE_CONNECTION_STRING:
        "DefaultEndpointsProtocol=http;AccountName=a;AccountKey=abc123==;",
    });
    expect(secretValues(c)).toEqual(expect.arrayContaining(["s3cr~et.value", "abc123=="]));
  });
});

describe("describeVariables", () => {
  it("documents every variable the table declares, with defaults", () => {
    const help = describeVariables();
    for (const v of VARIABLES) expect(help).toContain(v.name);
    expect(help).toContain("default Audit.General");
  });
});
