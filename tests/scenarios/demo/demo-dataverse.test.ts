/**
 * `npm run demo -- --dataverse` with a smaller tenant: the runtime CLI fills the emulated CoE
 * environment, and what the CoE dashboard would count from admin_auditlogs (launches and unique
 * users per app) and admin_apps (deletions) equals the runtime's own report.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runDemo, type DemoResult } from "../../../demo/run-demo";
import { runtimeBundle } from "../../helpers/scenario-services";

let result: DemoResult;
let outDir: string;

beforeAll(async () => {
  outDir = await mkdtemp(join(tmpdir(), "coe-demo-dv-test-"));
  result = await runDemo({
    quiet: true,
    outDir,
    seed: "demo-dataverse-test",
    // The runtime as the container runs it, built once for the run; `npm run demo` runs the source.
    runtimeBundle: runtimeBundle(),
    dataverse: true,
    tenant: { apps: 12, users: 80, days: 9, launchesPerDay: 300, deletes: 3 },
    content: { blobIntervalMinutes: 60 },
  });
}, 180_000);

afterAll(async () => {
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

describe("npm run demo -- --dataverse (a small tenant)", () => {
  it("fills the CoE tables so that they equal the report, app by app", () => {
    const coe = result.coe!;
    expect(coe.auditRows).toBeGreaterThan(1000);
    // The emulator leaves every tenth app out of admin_apps: those rows have no lookup.
    expect(coe.rowsWithoutLookup).toBeGreaterThan(0);
    expect(coe.appsChecked).toBeGreaterThan(5);
    expect(coe.differences).toEqual([]);
    expect(result.differences).toEqual([]);
  });
});
