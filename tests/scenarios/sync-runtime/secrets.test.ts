import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli } from "./cli-child";
import { startTestEnv, type TestEnv } from "./harness";

/**
 * Canary values for the client secret and the storage key go through the runtime's failure
 * paths in a real CLI process; none may appear in anything it writes (stdout, stderr).
 */
describe("secrets never leak", () => {
  const SECRET = "Canary~Secret.9f3b7c1e-not-a-guid-VALUE";
  const KEY = Buffer.from("canary-storage-account-key-0123456789").toString("base64");
  let t: TestEnv;
  beforeAll(async () => {
    t = await startTestEnv({ seed: "canary", tenant: { days: 1, futureDays: 0 } });
  });
  afterAll(async () => t?.stop());

  /** A connection string to the test's Azurite with the canary as its account key. */
  const canaryStorage = () =>
    t.azurite.connectionString.replace(/AccountKey=[^;]+/, `AccountKey=${KEY}`);

  const expectNoCanary = (run: { stdout: string; stderr: string }) => {
    const written = run.stdout + run.stderr;
    for (const canary of [SECRET, KEY, canaryStorage()]) expect(written).not.toContain(canary);
  };

  it("not in --help, however the environment is set", async () => {
    const run = await cli(["--help"], {
      ...t.env,
      AUDIT_CLIENT_SECRET: SECRET,
      AUDIT_STORAGE_CONNECTION_STRING: canaryStorage(),
    });
    expect(run.code).toBe(0);
    expectNoCanary(run);
  });

  it("not in a configuration error", async () => {
    const run = await cli(["once"], {
      ...t.env,
      AUDIT_TENANT_ID: "not-a-guid",
      AUDIT_CLIENT_SECRET: SECRET,
      AUDIT_STORAGE_CONNECTION_STRING: canaryStorage(),
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("AUDIT_TENANT_ID");
    expectNoCanary(run);
  });

  it("not in a refused token request (the secret is wrong)", async () => {
    const run = await cli(["subscription", "list"], { ...t.env, AUDIT_CLIENT_SECRET: SECRET });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('"code":"AUTH"');
    expectNoCanary(run);
  });

  it("not in a storage failure (the key is wrong)", async () => {
    const run = await cli(["once"], {
      ...t.env,
      AUDIT_STORAGE_CONNECTION_STRING: canaryStorage(),
      AUDIT_MAX_RETRIES: "0",
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('"code":"STORAGE"');
    expect(run.stderr).toContain("Could not open the storage account (403");
    expectNoCanary(run);
  });
});
