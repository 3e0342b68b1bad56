import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { TableClient } from "@azure/data-tables";
import { BlobServiceClient } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator } from "../../../emulator/index";
import { runtimeEnvFor } from "../../../demo/runtime-env";
import { CONTAINERS, TABLES } from "../../../sync-runtime/contract";
import { LEASE_BLOB } from "../../../sync-runtime/src/storage/pass-lease";
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
    t = await startTestEnv({
      seed: "canary",
      tenant: { days: 1, futureDays: 0 },
      // Hourly content blobs (the emulator's default is one per 10 minutes): every blob is
      // written and read the same way, so fewer of them leave as many places to look for a leak.
      content: { blobIntervalMinutes: 60 },
    });
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

  /** Everything in the storage account, as text: every blob (gunzipped) and every table row. */
  async function everythingStored(connectionString: string): Promise<string> {
    const parts: string[] = [];
    const blobs = BlobServiceClient.fromConnectionString(connectionString);
    for (const name of Object.values(CONTAINERS)) {
      const container = blobs.getContainerClient(name);
      if (!(await container.exists())) continue;
      for await (const b of container.listBlobsFlat({ includeMetadata: true })) {
        const bytes = await container.getBlobClient(b.name).downloadToBuffer();
        parts.push(b.name, JSON.stringify(b.metadata ?? {}));
        parts.push((b.name.endsWith(".gz") ? gunzipSync(bytes) : bytes).toString("utf8"));
      }
    }
    for (const name of Object.values(TABLES)) {
      const table = TableClient.fromConnectionString(connectionString, name, {
        allowInsecureConnection: true,
      });
      try {
        for await (const e of table.listEntities()) parts.push(JSON.stringify(e));
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode !== 404) throw err;
      }
    }
    return parts.join("\n");
  }

  const freePort = () =>
    new Promise<number>((resolve) => {
      const server = createServer().listen(0, "127.0.0.1", () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });

  it("not in anything a working runtime writes: logs of a killed pass, serve, /metrics, report files, storage, HTTP errors", async () => {
    const written: string[] = [];
    const keep = (run: { stdout: string; stderr: string }) => written.push(run.stdout, run.stderr);
    const env = { ...t.env, AUDIT_LOG_LEVEL: "debug", AUDIT_FIRST_RUN_HOURS: "24" };

    // A crash: killed in the middle of its first pass.
    let seen = 0;
    const killed = await cli(["once"], env, (line, kill) => {
      if (line.includes('"blob processed"') && ++seen === 3) kill("SIGKILL");
    });
    expect(killed.signal).toBe("SIGKILL");
    keep(killed);
    // The killed runtime's lease would run out by itself (one-writer proves it); breaking it only
    // saves the wait.
    await BlobServiceClient.fromConnectionString(t.azurite.connectionString)
      .getContainerClient(CONTAINERS.leases)
      .getBlobClient(LEASE_BLOB)
      .getBlobLeaseClient()
      .breakLease(0)
      .catch(() => undefined);

    // serve: a pass that finishes the backfill, report files, /metrics; then SIGTERM.
    const port = await freePort();
    let metrics = "";
    const served = await cli(["serve"], { ...env, PORT: String(port) }, (line, kill) => {
      if (!line.includes('"pass completed"')) return;
      void (async () => {
        const reports = BlobServiceClient.fromConnectionString(
          t.azurite.connectionString,
        ).getContainerClient(CONTAINERS.reports);
        for (let i = 0; i < 100; i++) {
          const names: string[] = [];
          for await (const b of reports.listBlobsFlat()) names.push(b.name);
          if (names.some((n) => n.endsWith(".html"))) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        kill("SIGTERM");
      })();
    });
    keep(served);
    expect(served.stderr).toContain('"pass completed"');
    expect(metrics).toContain("audit_blobs_processed_total");
    written.push(metrics);

    // The report as a file.
    const dir = await mkdtemp(join(tmpdir(), "canary-report-"));
    try {
      const file = join(dir, "report.html");
      const report = await cli(["report", "--format", "html", "--out", file], env);
      expect(report.code, report.stderr).toBe(0);
      keep(report);
      written.push(await readFile(file, "utf8"));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }

    // HTTP errors with a valid token in hand: a 403 (no consent) and 500s that outlast retries.
    for (const options of [{ consentGranted: false }, { faults: { serverErrorRate: 1 } }]) {
      const emu = await startEmulator({ seed: "canary-http", ...options });
      try {
        const run = await cli(["subscription", "list"], {
          ...runtimeEnvFor(emu),
          AUDIT_STORAGE_CONNECTION_STRING: t.azurite.connectionString,
          AUDIT_MAX_RETRIES: "1",
          AUDIT_LOG_LEVEL: "debug",
        });
        expect(run.code).toBe(1);
        expect(run.stderr).toMatch(/AF10001|HTTP 5\d\d|AF50000|"status":5\d\d/);
        keep(run);
        const tokens = emu.issuedTokens();
        expect(tokens.length).toBeGreaterThan(0);
        const text = written.join("\n");
        for (const token of tokens) expect(text).not.toContain(token.split(".")[2]);
        expect(text).not.toContain(runtimeEnvFor(emu).AUDIT_CLIENT_SECRET);
      } finally {
        await emu.stop();
      }
    }

    written.push(await everythingStored(t.azurite.connectionString));
    const text = written.join("\n");
    const key = /AccountKey=([^;]+)/.exec(t.azurite.connectionString)![1];
    const tokens = t.emulator.issuedTokens();
    expect(tokens.length).toBeGreaterThan(0);
    // The signature is the part that makes a token usable; the whole token contains it.
    const canaries = [
      t.env.AUDIT_CLIENT_SECRET,
      key,
      t.azurite.connectionString,
      ...tokens.map((tk) => tk.split(".")[2]),
    ];
    for (const canary of canaries) expect(text).not.toContain(canary);
  }, 120_000);
});
