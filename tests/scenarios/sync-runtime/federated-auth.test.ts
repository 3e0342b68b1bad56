import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { completeWindow } from "../../../demo/comparison";
import { cli } from "./cli-child";
import { runtimeEnvFor } from "../../../demo/runtime-env";
import { AuthError } from "../../../sync-runtime/src/core/errors";
import { comparable, DAY, HOUR, startTestEnv, type TestEnv } from "./harness";

/**
 * The runtime signing in with no secret: the managed identity's token (from IDENTITY_ENDPOINT, as
 * Container Apps serve it) is the client assertion of the app's federated identity credential,
 * for the Management API, Graph and Dataverse alike. One emulator for the whole file:
 * @azure/identity picks the managed identity endpoint once per process and caches its token
 * across credentials.
 */
describe("the federated credential (AUDIT_CREDENTIAL=federated)", () => {
  const start = new Date("2026-04-06T12:00:00Z");
  let t: TestEnv;
  let federated: Record<string, string>;
  const saved = { endpoint: process.env.IDENTITY_ENDPOINT, header: process.env.IDENTITY_HEADER };

  beforeAll(async () => {
    t = await startTestEnv({
      seed: "federated",
      startTime: start,
      // Eight days of history, of which the API serves the last seven.
      tenant: { days: 8, futureDays: 0, apps: 6, users: 12, launchesPerDay: 60, deletes: 1 },
      // Everything listed at once, so the whole first pass compares with the ground truth.
      content: { blobIntervalMinutes: 60, lateAvailabilityShare: 0, lateListingShare: 0 },
      dataverse: {},
    });
    const env = runtimeEnvFor(t.emulator, "federated");
    // The platform's variables, read by @azure/identity from the process environment.
    process.env.IDENTITY_ENDPOINT = env.IDENTITY_ENDPOINT;
    process.env.IDENTITY_HEADER = env.IDENTITY_HEADER;
    federated = {
      AUDIT_CREDENTIAL: "federated",
      AUDIT_CLIENT_SECRET: "",
      AZURE_CLIENT_ID: env.AZURE_CLIENT_ID!,
    };
  });
  afterAll(async () => {
    for (const [name, value] of [
      ["IDENTITY_ENDPOINT", saved.endpoint],
      ["IDENTITY_HEADER", saved.header],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await t?.stop();
  });

  it("runs a first pass on empty storage over the 7 days the API holds, equal to the ground truth, with no secret sent", async () => {
    const runtime = t.runtime(federated);
    expect(runtime.config.credential.kind).toBe("federated");
    const [general] = await runtime.sync();
    // No checkpoint: the pass starts at the oldest time the API serves (7 days less a margin).
    const from = new Date(general.from);
    const to = new Date(general.to);
    expect(to.getTime()).toBe(start.getTime());
    expect(to.getTime() - from.getTime()).toBe(7 * DAY - 10 * 60_000);
    expect(general.windows).toBe(7);
    expect(general.blobsExpired).toBe(0);

    // Up to the last minute whose records were all listed by then (a record reaches a blob an
    // hour or so after its event): nearly the whole 7 days.
    const window = completeWindow(from, to, (w) => t.emulator.windowCompleteAt(w));
    expect(window.to.getTime() - window.from.getTime()).toBeGreaterThan(7 * DAY - 4 * HOUR);
    const report = await runtime.report(window);
    const truth = t.emulator.groundTruth(window, { daily: true });
    expect(truth.apps.reduce((n, a) => n + a.launches, 0)).toBeGreaterThan(300);
    expect(comparable(report)).toEqual(comparable(truth));

    const stats = t.emulator.stats();
    expect(stats.clientSecretsSeen).toBe(0);
    expect(stats.clientAssertionsSeen).toBeGreaterThan(0);
    expect(stats.managedIdentityTokens).toBeGreaterThan(0);
    // Dataverse took the same kind of token: the pass wrote its CoE rows.
    expect(t.emulator.dataverse!.rows("admin_auditlogs").length).toBeGreaterThan(0);
    // Neither the managed identity's token (the assertion) nor the app's tokens reach the logs.
    const logs = t.logs.join("\n");
    for (const token of t.emulator.issuedTokens()) expect(logs).not.toContain(token);
  });

  it("reads Microsoft Graph with the same assertion (its own audience, its own token)", async () => {
    const graph = t.runtime(
      { ...federated, AUDIT_SOURCE: "graph" },
      { graphPolling: { pollIntervalMs: 1 } },
    );
    const window = {
      from: new Date(start.getTime() - 3 * DAY),
      to: new Date(start.getTime() - 2 * DAY),
    };
    const result = await graph.syncGraph(window);
    expect(result.launches).toBeGreaterThan(0);
    expect(t.emulator.stats().graph.queriesSubmitted).toBeGreaterThan(0);
    expect(t.emulator.stats().clientSecretsSeen).toBe(0);
  });

  it("waits while a new federated credential propagates (AADSTS70021), then signs in", async () => {
    const credentials = t.emulator.federatedCredentials();
    t.emulator.setFederatedCredentials(credentials, { propagationRequests: 3 });
    const before = t.emulator.stats().tokenErrors;
    const logsBefore = t.logs.length;
    const runtime = t.runtime(federated);
    await runtime.sync();
    expect(t.emulator.stats().tokenErrors - before).toBe(3);
    const retries = t.logs
      .slice(logsBefore)
      .filter((l) => l.includes("federated identity credential not propagated yet"));
    expect(retries).toHaveLength(3);
  });

  it("fails without a federated credential, naming the fix, after waiting a bounded time", async () => {
    const credentials = t.emulator.federatedCredentials();
    t.emulator.setFederatedCredentials([]);
    try {
      const before = t.emulator.stats().tokenErrors;
      const err = await t
        .runtime(federated)
        .sync()
        .then(
          () => null,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(AuthError);
      const message = (err as AuthError).message;
      expect(message).toContain("AADSTS70021");
      expect(message).toMatch(
        /No federated identity credential of app .* matches the managed identity AZURE_CLIENT_ID=/,
      );
      expect(message).toContain("pulumi up");
      expect(message).toContain("runtimeCredential: federated");
      // Waited for propagation a bounded number of times (the policy's 10 retries), then gave up.
      expect(t.emulator.stats().tokenErrors - before).toBe(11);
    } finally {
      t.emulator.setFederatedCredentials(credentials);
    }
  });

  it("stops waiting for propagation as soon as the pass is stopped", async () => {
    const credentials = t.emulator.federatedCredentials();
    t.emulator.setFederatedCredentials([]);
    try {
      // Production delays: the first wait for propagation is 10 × 500 ms.
      const runtime = t.runtime(federated, { retry: { minDelayMs: 500, maxDelayMs: 60_000 } });
      const controller = new AbortController();
      const before = t.emulator.stats().tokenErrors;
      const pass = runtime.sync({ signal: controller.signal });
      pass.catch(() => {});
      // Stopped once Entra has refused the assertion: the runtime is then waiting to ask again.
      for (let i = 0; i < 400 && t.emulator.stats().tokenErrors === before; i++)
        await new Promise((r) => setTimeout(r, 10));
      expect(t.emulator.stats().tokenErrors).toBe(before + 1);
      const stoppedAt = Date.now();
      controller.abort(new Error("stopped by the test"));
      await expect(pass).rejects.toThrow("stopped by the test");
      expect(Date.now() - stoppedAt).toBeLessThan(1_000);
    } finally {
      t.emulator.setFederatedCredentials(credentials);
    }
  });

  it("fails at once on a credential for another identity or audience, saying which", async () => {
    const [deployed] = t.emulator.federatedCredentials();
    try {
      t.emulator.setFederatedCredentials([
        { ...deployed, subject: "00000000-0000-4000-8000-000000000000" },
      ]);
      const before = t.emulator.stats().tokenErrors;
      const wrongSubject = (await t
        .runtime(federated)
        .sync()
        .catch((e: unknown) => e)) as AuthError;
      expect(wrongSubject).toBeInstanceOf(AuthError);
      expect(wrongSubject.message).toContain("AADSTS700213");
      expect(wrongSubject.message).toMatch(/principal \(object\) id of the managed identity/);
      expect(wrongSubject.message).toContain("pulumi up");
      // Not a propagation delay: refused once, not retried.
      expect(t.emulator.stats().tokenErrors - before).toBe(1);

      t.emulator.setFederatedCredentials([deployed]);
      const wrongAudience = (await t
        .runtime({ ...federated, AUDIT_FEDERATED_AUDIENCE: "api://AzureADTokenExchangeUSGov" })
        .sync()
        .catch((e: unknown) => e)) as AuthError;
      expect(wrongAudience).toBeInstanceOf(AuthError);
      expect(wrongAudience.message).toContain("AADSTS700212");
      expect(wrongAudience.message).toContain("AUDIT_FEDERATED_AUDIENCE");
    } finally {
      t.emulator.setFederatedCredentials([deployed]);
    }
    expect(t.emulator.stats().clientSecretsSeen).toBe(0);
  });

  it("fails at once, saying what to check, when the container has no such managed identity", async () => {
    const other = "11111111-2222-4333-8444-555555555555";
    const before = t.emulator.stats().managedIdentityErrors;
    const err = (await t
      .runtime({ ...federated, AZURE_CLIENT_ID: other })
      .sync()
      .catch((e: unknown) => e)) as AuthError;
    expect(err).toBeInstanceOf(AuthError);
    expect(err.message).toContain(
      `Could not get a managed-identity token of AZURE_CLIENT_ID=${other}`,
    );
    expect(err.message).toContain("Unable to load the proper Managed Identity.");
    expect(err.message).toContain("IDENTITY_ENDPOINT");
    expect(err.message).toContain("AUDIT_CREDENTIAL=secret");
    // Asked once: an identity the platform does not know is not an outage.
    expect(t.emulator.stats().managedIdentityErrors - before).toBe(1);
  });

  it("fails in the CLI, as the container runs it, with an error naming the fix and no token in it", async () => {
    const [deployed] = t.emulator.federatedCredentials();
    t.emulator.setFederatedCredentials([
      { ...deployed, subject: "00000000-0000-4000-8000-000000000000" },
    ]);
    try {
      const { AUDIT_CLIENT_SECRET: _, ...env } = {
        ...t.env,
        ...(runtimeEnvFor(t.emulator, "federated") as Record<string, string>),
      };
      const run = await cli(["once"], env);
      expect(run.code).not.toBe(0);
      expect(run.stdout).toBe("");
      const error = run.stderr
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { level: string; msg: string })
        .find((l) => l.level === "error");
      expect(error?.msg).toContain("AADSTS700213");
      expect(error?.msg).toContain("AZURE_CLIENT_ID");
      expect(error?.msg).toContain("pulumi up");
      for (const token of t.emulator.issuedTokens()) expect(run.stderr).not.toContain(token);
    } finally {
      t.emulator.setFederatedCredentials([deployed]);
    }
    expect(t.emulator.stats().clientSecretsSeen).toBe(0);
  });
});
