import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli } from "./cli-child";
import { HOUR, startTestEnv, type TestEnv } from "./harness";

/**
 * Kill -9 in the middle of a pass, run again, and the report is the same as the ground truth
 * (which the week test shows an uninterrupted run reproduces). Real time here: the child
 * process cannot share the test's simulated clock.
 */
describe("a CLI pass killed mid-way", () => {
  let t: TestEnv;
  beforeAll(async () => {
    t = await startTestEnv(
      {
        seed: "kill",
        latencyMs: [15, 30],
        pageSize: 10,
        tenant: { days: 1, futureDays: 0, apps: 6, users: 10, launchesPerDay: 150, deletes: 1 },
        // No late records or late listings: the window compared below is complete at any time.
        content: {
          blobIntervalMinutes: 15,
          duplicateShare: 0.1,
          lateAvailabilityShare: 0,
          lateListingShare: 0,
        },
      },
      {
        AUDIT_BLOB_CONCURRENCY: "2",
        AUDIT_LOG_LEVEL: "debug",
        AUDIT_FIRST_RUN_HOURS: "24",
        // The killed pass keeps the lease until it runs out: the re-run waits for it (≤ 15 s).
        AUDIT_LEASE_SECONDS: "15",
      },
    );
  });
  afterAll(async () => t?.stop());

  it("resumes after SIGKILL and reports exactly the ground truth; stdout holds only the report", async () => {
    let processed = 0;
    const killed = await cli(["once"], t.env, (line, kill) => {
      if (line.includes('"blob processed"') && ++processed === 12) kill("SIGKILL");
    });
    expect(killed.signal).toBe("SIGKILL");
    expect(killed.stdout).toBe(""); // it never got to print its summary
    const runtime = t.runtime();
    expect(await runtime.store.checkpoints.get("Audit.General")).toBeUndefined();

    const resumed = await cli(["once"], t.env);
    expect(resumed.code, resumed.stderr).toBe(0);
    const summary = JSON.parse(resumed.stdout) as {
      blobsSkipped: number;
      blobsProcessed: number;
    }[];
    // The second run skipped what the first had finished and did the rest.
    expect(summary[0].blobsSkipped).toBeGreaterThanOrEqual(12);
    expect(summary[0].blobsProcessed).toBeGreaterThan(0);

    const now = Date.now();
    const window = { from: new Date(now - 22 * HOUR), to: new Date(now - 3 * HOUR) };
    const report = await cli(
      [
        "report",
        "--format",
        "json",
        "--from",
        window.from.toISOString(),
        "--to",
        window.to.toISOString(),
      ],
      t.env,
    );
    expect(report.code, report.stderr).toBe(0);
    const parsed = JSON.parse(report.stdout);
    const truth = t.emulator.groundTruth(window);
    expect(truth.apps.length).toBeGreaterThan(2);
    // The window's figures are the ground truth's; inactiveApps (all time, default 30 days) are
    // compared with the emulator's expectation in sync-week and the demo test.
    const { daily: _daily, staleDays, inactiveApps, ...withoutDaily } = parsed;
    expect(withoutDaily).toEqual(truth);
    expect(staleDays).toBe(30);
    expect(Array.isArray(inactiveApps)).toBe(true);
    // The secret never reaches the logs.
    expect(killed.stderr + resumed.stderr + report.stderr).not.toContain(t.env.AUDIT_CLIENT_SECRET);
  });

  // Every other CLI test runs the bundle, as the container does; `npm run sync` runs the source.
  it("the TypeScript entry (npm run sync, through tsx) runs a pass and reports as the bundle does", async () => {
    const pass = await cli(["once"], t.env, undefined, { entry: "source" });
    expect(pass.code, pass.stderr).toBe(0);
    const [summary] = JSON.parse(pass.stdout) as { contentType: string; windows: number }[];
    expect(summary.contentType).toBe("Audit.General");
    expect(summary.windows).toBeGreaterThan(0);

    const now = Date.now();
    const args = ["report", "--format", "json"];
    args.push("--from", new Date(now - 22 * HOUR).toISOString());
    args.push("--to", new Date(now - 3 * HOUR).toISOString());
    const [viaSource, viaBundle] = await Promise.all([
      cli(args, t.env, undefined, { entry: "source" }),
      cli(args, t.env),
    ]);
    expect(viaSource.code, viaSource.stderr).toBe(0);
    expect(viaBundle.code, viaBundle.stderr).toBe(0);
    expect(JSON.parse(viaSource.stdout).apps.length).toBeGreaterThan(2);
    expect(JSON.parse(viaSource.stdout)).toEqual(JSON.parse(viaBundle.stdout));
  });

  it("report --out writes the file and leaves stdout empty", async () => {
    const dir = await mkdtemp(join(tmpdir(), "report-out-"));
    try {
      const file = join(dir, "usage.csv");
      const r = await cli(["report", "--days", "2", "--format", "csv", "--out", file], t.env);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe("");
      expect(await readFile(file, "utf8")).toMatch(/^\uFEFFappId,appName,/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("serve stops gracefully on SIGTERM, exit code 0", async () => {
    let port = 0;
    let metrics = "";
    const served = await cli(
      ["serve"],
      { ...t.env, PORT: "0", AUDIT_LOG_LEVEL: "info" },
      (line, signal) => {
        const entry = JSON.parse(line) as { msg: string; port?: number };
        if (entry.msg === "serving") port = entry.port!;
        if (entry.msg === "pass completed") {
          // A failed fetch shows in the metrics assertion below, with its reason.
          fetch(`http://127.0.0.1:${port}/metrics`)
            .then((r) => r.text())
            .then((text) => (metrics = text))
            .catch((err: unknown) => (metrics = `GET /metrics failed: ${String(err)}`))
            .finally(() => signal("SIGTERM"));
        }
      },
    );
    expect(served.code, served.stderr).toBe(0);
    expect(metrics).toMatch(/^audit_passes_total\{result="ok"\} 1$/m);
    expect(served.stderr).toContain('"msg":"stopped"');
  });
});
