/**
 * The demo end to end, as `npm run demo` runs it but with a smaller tenant: the real runtime CLI
 * in child processes against the emulator and Azurite. Its report must equal the emulator's
 * ground truth, its files must hold the same figures, and nothing it started may outlive it.
 */
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parse } from "csv-parse/sync";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runDemo, type DemoResult } from "../../../demo/run-demo";
import { launchChromium, skipBrowserTests } from "../../helpers/browser";
import { runtimeBundle } from "../../helpers/scenario-services";
import { alive, refuses } from "../../helpers/processes";

const DAY_MS = 86_400_000;

let result: DemoResult;
let outDir: string;

beforeAll(async () => {
  outDir = await mkdtemp(join(tmpdir(), "coe-demo-test-"));
  result = await runDemo({
    quiet: true,
    outDir,
    seed: "demo-test",
    // The runtime as the container runs it, built once for the run; `npm run demo` runs the source.
    runtimeBundle: runtimeBundle(),
    // Small enough for a test (a few seconds of backfill), with every kind of realism on: both
    // schemas, duplicates, late records and listings, unparsable records, noise and deletes.
    tenant: { apps: 12, users: 80, days: 9, launchesPerDay: 300, deletes: 3 },
    content: { blobIntervalMinutes: 60 },
    // A record counts as a duplicate when its first copy's write is confirmed before its second
    // copy (1 to 12 blobs later) is read. The runtime keeps more blobs in flight the slower the
    // machine answers (up to 32), so on a busy machine every copy can be in flight at once: stored
    // once either way, but never counted as a duplicate. Four in flight keep copies apart.
    runtimeEnv: { AUDIT_BLOB_CONCURRENCY: "4" },
  });
});

afterAll(async () => {
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

describe("npm run demo (runDemo with a small tenant)", () => {
  it("backfills through the real runtime, with duplicates and unparsable records on the way", () => {
    expect(result.backfill).toHaveLength(1);
    const [general] = result.backfill;
    expect(general.contentType).toBe("Audit.General");
    expect(general.blobsProcessed).toBeGreaterThan(100);
    expect(general.blobsExpired).toBe(0);
    expect(general.duplicates).toBeGreaterThan(0);
    expect(general.unparsed).toBeGreaterThan(0);
    expect(general.deletes).toBeGreaterThan(0);
  });

  it("signs in as a deployed stack does: the managed identity's token, no client secret anywhere", () => {
    expect(result.auth.credential).toBe("federated");
    expect(result.auth.managedIdentityTokens).toBeGreaterThan(0);
    expect(result.auth.clientSecretsSeen).toBe(0);
  });

  it("reads on empty storage, without --from, the 7 days the API still holds", () => {
    const backfillStart = Date.parse(result.backfill[0].from);
    const backfillEnd = Date.parse(result.backfill[0].to);
    // The runtime starts 10 minutes inside the API's 7 days, so no listed blob expires meanwhile.
    expect(backfillEnd - backfillStart).toBeGreaterThan(7 * DAY_MS - 15 * 60_000);
    expect(backfillEnd - backfillStart).toBeLessThanOrEqual(7 * DAY_MS - 10 * 60_000);
  });

  it("compares an honest window: nearly the whole week, every record of it listed before the backfill", () => {
    const from = Date.parse(result.window.from);
    const to = Date.parse(result.window.to);
    const backfillStart = Date.parse(result.backfill[0].from);
    expect(from).toBe(backfillStart);
    // Records can arrive up to ~16 h late (12 h availability + 4 h late listing), no more.
    expect(to - from).toBeGreaterThan(6 * DAY_MS - 16 * 3_600_000);
    expect(to).toBeLessThanOrEqual(Date.parse(result.backfill[0].to));
  });

  it("reports exactly the emulator's ground truth, app by app and field by field", () => {
    // inactiveApps (all time) are checked on their own below.
    const { daily, staleDays: _s, inactiveApps: _i, ...report } = result.report;
    const { daily: truthDaily, ...truth } = result.groundTruth;
    // The window is worth comparing: many apps, thousands of launches, a deleted app.
    expect(truth.apps.length).toBeGreaterThanOrEqual(8);
    expect(truth.apps.reduce((n, a) => n + a.launches, 0)).toBeGreaterThan(1000);
    expect(truth.apps.some((a) => a.deleted)).toBe(true);
    expect(report).toEqual(truth);
    // Launches per day agree too (the report may add days without launches).
    expect((daily ?? []).filter((d) => d.launches > 0)).toEqual(truthDaily);
    expect(result.differences).toEqual([]);
  });

  it("lists the apps not launched for 3 days (all time synced): the emulator's expectation", () => {
    const { staleDays, reported, expected } = result.inactive;
    expect(staleDays).toBe(3);
    expect(result.report.staleDays).toBe(3);
    // The tenant's abandoned apps, idle for 4-6 days, not deleted, last launched after the
    // backfill's start: a non-empty list, equal field by field and in order.
    expect(expected.length).toBeGreaterThan(0);
    expect(result.report.inactiveApps).toEqual(expected);
    expect(reported).toEqual(expected);
    const cutoff = Date.parse(result.window.to) - 3 * DAY_MS;
    for (const app of expected) {
      expect(app.lastLaunchedAt).not.toBeNull();
      expect(Date.parse(app.lastLaunchedAt!)).toBeGreaterThanOrEqual(
        Date.parse(result.window.from),
      );
      expect(Date.parse(app.lastLaunchedAt!)).toBeLessThanOrEqual(cutoff);
    }
    // The runtime's table names them after the totals.
    expect(result.table).toContain("Not launched for 3 days (all time, longest idle first):");
    for (const app of expected) expect(result.table).toContain(`  ${app.appName ?? app.appId}: `);
  });

  it("writes a CSV that parses back to the JSON figures", async () => {
    const rows = parse(await readFile(result.files.csv, "utf8"), {
      bom: true,
      columns: true,
    }) as Record<string, string>[];
    const json = JSON.parse(await readFile(result.files.json, "utf8")) as DemoResult["report"];
    expect(json).toEqual(result.report);
    expect(
      rows.map((r) => ({
        appId: r.appId,
        appName: r.appName === "" ? null : r.appName,
        environmentId: r.environmentId === "" ? null : r.environmentId,
        launches: Number(r.launches),
        uniqueUsers: Number(r.uniqueUsers),
        lastLaunchedAt: r.lastLaunchedAt === "" ? null : r.lastLaunchedAt,
        lastLaunchedBy: r.lastLaunchedBy === "" ? null : r.lastLaunchedBy,
        deleted: r.deleted === "true" ? true : r.deleted === "false" ? false : r.deleted,
      })),
    ).toEqual(json.apps);
  });

  it("printed the runtime's table, led by the top app", () => {
    const top = result.groundTruth.apps[0];
    const firstRow = result.table.split("\n").find((line) => /^\s*1\s/.test(line));
    expect(firstRow).toContain(top.appName ?? top.appId);
    expect(firstRow).toContain(top.launches.toLocaleString("en-US"));
  });

  it("leaves nothing behind: ports closed, children gone, temp dirs removed", async () => {
    const ports = [result.endpoints.emulator, result.endpoints.blob, result.endpoints.table].map(
      (url) => Number(new URL(url).port),
    );
    for (const port of ports) expect(await refuses(port), `port ${port}`).toBe(true);
    expect(result.childPids.length).toBeGreaterThanOrEqual(6);
    for (const pid of result.childPids) expect(alive(pid), `pid ${pid}`).toBe(false);
    expect(result.tempPaths).toHaveLength(2);
    for (const path of result.tempPaths) expect(existsSync(path), path).toBe(false);
  });
});

describe.skipIf(skipBrowserTests())("the demo's dashboard in headless Chromium", () => {
  it("shows the top app first and lists the deleted and the stale apps", async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(pathToFileURL(result.files.html).href, { waitUntil: "load" });
      const label = (a: { appName: string | null; appId: string }) => a.appName ?? a.appId;
      const top = result.groundTruth.apps[0];
      const firstRow = page.getByTestId("app-row").first().locator("th");
      expect(await firstRow.textContent()).toBe(label(top));
      expect(await firstRow.isVisible()).toBe(true);
      const deleted = result.groundTruth.apps.filter((a) => a.deleted).map(label);
      expect(deleted.length).toBeGreaterThan(0);
      const listed = await page.getByTestId("deleted-app").locator("strong").allTextContents();
      expect(listed.sort()).toEqual(deleted.sort());
      expect(await page.getByTestId("deleted").isVisible()).toBe(true);
      // The stale section lists the all-time inactive apps, longest idle first.
      const stale = result.inactive.expected.map(label);
      expect(stale.length).toBeGreaterThan(0);
      const staleRows = await page.getByTestId("stale-app").locator("th").allTextContents();
      expect(staleRows).toEqual(stale);
      expect(await page.getByTestId("stale").getAttribute("data-source")).toBe("all-time");
      expect(await page.getByTestId("stale").isVisible()).toBe(true);
      expect(await page.getByTestId("figure-stale").locator("dd").textContent()).toBe(
        String(stale.length),
      );
    } finally {
      await browser.close();
    }
  });
});
