/**
 * `npm run demo -- --graph`: the same demo, the tenant read through Microsoft Graph's audit log
 * queries by the real runtime CLI (AUDIT_SOURCE=graph), many queries in flight. Its report must
 * equal the emulator's ground truth over the tenant's whole history, past the Management API's
 * 7 days, and the runtime must have shown its progress in days queried, running and stored.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runDemo, type DemoResult } from "../../../demo/run-demo";
import { runtimeBundle } from "../../helpers/scenario-services";

const DAY_MS = 86_400_000;

let result: DemoResult;
let outDir: string;

beforeAll(async () => {
  outDir = await mkdtemp(join(tmpdir(), "coe-demo-graph-test-"));
  result = await runDemo({
    quiet: true,
    outDir,
    seed: "demo-graph-test",
    // The runtime as the container runs it, built once for the run; `npm run demo` runs the source.
    runtimeBundle: runtimeBundle(),
    graph: true,
    // Small enough for a test; ten days, more than the Management API keeps.
    tenant: { apps: 8, users: 40, days: 10, launchesPerDay: 120, deletes: 2 },
  });
}, 120_000);

afterAll(async () => {
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

describe("npm run demo -- --graph (runDemo through Microsoft Graph)", () => {
  it("queries every day of the tenant's history through Graph, many at once", () => {
    expect(result.backfill).toEqual([]);
    const graph = result.graph!.backfill;
    expect(graph.source).toBe("graph");
    expect(graph.windows).toBeGreaterThanOrEqual(10);
    expect(graph.submissions).toBe(graph.windows);
    expect(graph.launches).toBeGreaterThan(500);
    expect(graph.deletes).toBeGreaterThan(0);
  });

  it("reports exactly the emulator's ground truth over more than the Management API's 7 days", () => {
    expect(Date.parse(result.window.to) - Date.parse(result.window.from)).toBeGreaterThan(
      8 * DAY_MS,
    );
    const { daily, staleDays: _s, inactiveApps: _i, ...report } = result.report;
    const { daily: truthDaily, ...truth } = result.groundTruth;
    expect(truth.apps.length).toBeGreaterThanOrEqual(6);
    expect(report).toEqual(truth);
    expect((daily ?? []).filter((d) => d.launches > 0)).toEqual(truthDaily);
    expect(result.inactive.reported).toEqual(result.inactive.expected);
    expect(result.differences).toEqual([]);
  });

  it("showed a progress line of days queried, running and stored", () => {
    const days = result.graph!.backfill.windows;
    expect(result.graph!.progress).toMatch(
      new RegExp(`graph  days ${days} queried  0 running  ${days}/${days} stored  records `),
    );
  });
});
