import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DAY, startTestEnv, type TestEnv } from "./harness";

/**
 * An app without a Dataverse application user: the pass still archives everything in Azure
 * Storage, the error says exactly what is missing and the one command that creates it, and once
 * the user exists the next pass writes every waiting launch.
 */
describe("the Dataverse sink without an application user", () => {
  const start = new Date("2026-03-02T00:00:00Z");
  let t: TestEnv;

  beforeAll(async () => {
    t = await startTestEnv({
      seed: "coe-access",
      startTime: start,
      tenant: { days: 1, apps: 4, users: 5, launchesPerDay: 40, deletes: 0 },
      dataverse: { applicationUser: "missing", missingAppEvery: 0 },
    });
  });
  afterAll(async () => t?.stop());

  it("says to run pac admin assign-user, loses nothing and catches up once the user exists", async () => {
    const dv = t.emulator.dataverse!;
    const runtime = t.runtime();
    await runtime.sync();
    const window = { from: new Date(start.getTime() - DAY), to: start };
    const truth = t.emulator.groundTruth(window, { asOf: t.emulator.clock.now() });
    const launches = truth.apps.reduce((n, a) => n + a.launches, 0);
    expect(launches).toBeGreaterThan(0);
    // The archive is not blocked: the report is complete.
    expect((await runtime.report(window)).apps).toEqual(truth.apps);
    expect(dv.rows("admin_auditlogs")).toHaveLength(0);

    const message = `app ${t.env.AUDIT_CLIENT_ID} has no application user in the Dataverse environment ${dv.url}`;
    const command = `pac admin assign-user --environment ${dv.url} --user ${t.env.AUDIT_CLIENT_ID} --role "System Administrator" --application-user`;
    const logged = t.logs.find((l) => l.includes("writing to Dataverse failed"));
    expect(logged).toContain(message);
    expect(logged).toContain(command.replace(/"/g, '\\"'));
    await expect(runtime.syncDataverse!()).rejects.toThrow(command);
    expect(t.logs.join("\n")).not.toContain(t.env.AUDIT_CLIENT_SECRET);

    dv.setApplicationUser("present");
    await runtime.sync();
    expect(dv.rows("admin_auditlogs")).toHaveLength(launches);
    expect(runtime.metrics.get("audit_dataverse_pending")).toBe(0);
  }, 120_000);
});
