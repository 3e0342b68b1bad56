import { describe, expect, it } from "vitest";
import { loadConfig } from "../../../../sync-runtime/src/app/config";
import { ConfigError } from "../../../../sync-runtime/src/core/errors";

const base = {
  AUDIT_TENANT_ID: "11111111-2222-3333-4444-555555555555",
  AUDIT_CLIENT_ID: "66666666-7777-8888-9999-000000000000",
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

describe("AUDIT_SOURCE and AUDIT_GRAPH_ENDPOINT", () => {
  it("defaults to the Management API, with Graph at graph.microsoft.com available", () => {
    const c = loadConfig(base);
    expect(c.source).toBe("managementApi");
    expect(c.graphEndpoint).toBe("https://graph.microsoft.com");
    expect(c.graphAvailable).toBe(true);
  });

  it("accepts graph in commercial and GCC (GCC tenants use the global Graph)", () => {
    for (const audience of ["https://manage.office.com", "https://manage-gcc.office.com"]) {
      const c = loadConfig({ ...base, AUDIT_SOURCE: "graph", AUDIT_AUDIENCE: audience });
      expect(c.source).toBe("graph");
    }
  });

  it("refuses an unknown source, naming the allowed ones", () => {
    const err = configError({ ...base, AUDIT_SOURCE: "purview" });
    expect(err.key).toBe("AUDIT_SOURCE");
    expect(err.message).toContain("managementApi, graph");
  });

  it("refuses graph in GCC High and DoD at config time, by the Management API or Graph host", () => {
    const clouds: Record<string, string>[] = [
      { AUDIT_AUDIENCE: "https://manage.office365.us" },
      { AUDIT_AUDIENCE: "https://manage.protection.apps.mil" },
      { AUDIT_GRAPH_ENDPOINT: "https://graph.microsoft.us" },
      { AUDIT_GRAPH_ENDPOINT: "https://dod-graph.microsoft.us/" },
    ];
    for (const env of clouds) {
      const err = configError({ ...base, AUDIT_SOURCE: "graph", ...env });
      expect(err.key).toBe("AUDIT_SOURCE");
      expect(err.message).toMatch(/not available in GCC High or DoD/);
      expect(err.message).toContain("Resource not found for the segment 'auditLog'");
      // The Management API stays usable there, and says Graph is not.
      expect(loadConfig({ ...base, ...env }).graphAvailable).toBe(false);
    }
  });

  it("refuses a Graph endpoint that is not https", () => {
    expect(configError({ ...base, AUDIT_GRAPH_ENDPOINT: "http://graph.microsoft.com" }).key).toBe(
      "AUDIT_GRAPH_ENDPOINT",
    );
  });
});

describe("AUDIT_GRAPH_QUERY_CONCURRENCY and AUDIT_GRAPH_DAILY_SUBMISSIONS", () => {
  it("default to 10 queries in flight and 150 submissions a day, within the 50 and 200 baseline", () => {
    const c = loadConfig(base);
    expect(c.graphQueryConcurrency).toBe(10);
    expect(c.graphDailySubmissions).toBe(150);
    const set = loadConfig({
      ...base,
      AUDIT_GRAPH_QUERY_CONCURRENCY: "50",
      AUDIT_GRAPH_DAILY_SUBMISSIONS: "400",
    });
    expect([set.graphQueryConcurrency, set.graphDailySubmissions]).toEqual([50, 400]);
  });

  it("refuses more queries in flight than a tenant's baseline allows, and a budget of none", () => {
    const many = configError({ ...base, AUDIT_GRAPH_QUERY_CONCURRENCY: "51" });
    expect(many.key).toBe("AUDIT_GRAPH_QUERY_CONCURRENCY");
    expect(many.message).toContain("between 1 and 50");
    const none = configError({ ...base, AUDIT_GRAPH_DAILY_SUBMISSIONS: "0" });
    expect(none.key).toBe("AUDIT_GRAPH_DAILY_SUBMISSIONS");
  });
});
