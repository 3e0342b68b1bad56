import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type RunningEmulator } from "../../../emulator/index";
import { getToken } from "./helpers";

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL("./dynamics-web-api-client.ts", import.meta.url));
const row = (n: number) => `77777777-0000-0000-0000-${String(n).padStart(12, "0")}`;

/**
 * The emulator driven by dynamics-web-api, a third-party Dataverse client written against the
 * real service, for the operations the sink uses: if the emulator answered in a shape Dataverse
 * does not, this client would misread it, so the emulator and our sink cannot share a mistake.
 */
describe("the Dataverse emulator under a real third-party client (dynamics-web-api)", () => {
  let emu: RunningEmulator;
  let dir: string;
  let out: Record<string, unknown>;
  let apps: string[];

  beforeAll(async () => {
    emu = await startEmulator({
      seed: "dataverse-client",
      startTime: new Date("2026-03-02T00:00:00Z"),
      tenant: { apps: 5, days: 1 },
      dataverse: { missingAppEvery: 0 },
    });
    dir = await mkdtemp(join(tmpdir(), "dv-client-"));
    const ca = join(dir, "ca.pem");
    await writeFile(ca, emu.caCertPem);
    const url = emu.dataverse!.url;
    apps = emu.dataverse!.seededAppIds();
    const { stdout } = await run(process.execPath, ["--import", "tsx", SCRIPT], {
      env: {
        PATH: process.env.PATH,
        NODE_EXTRA_CA_CERTS: ca,
        DV_URL: url,
        DV_TOKEN: await getToken(emu, `${url}/.default`),
        DV_APPS: JSON.stringify(apps),
        DV_ROWS: JSON.stringify(Array.from({ length: 9 }, (_, i) => row(i))),
      },
      timeout: 60_000,
    });
    out = JSON.parse(stdout) as Record<string, unknown>;
  });
  afterAll(async () => {
    await emu?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const audit = () =>
    new Map(emu.dataverse!.rows("admin_auditlogs").map((r) => [r.admin_auditlogid, r]));

  it("upserts by key with the lookup bound", () => {
    // The client reads the row's id from the OData-EntityId header of the 204.
    expect(out.upsert).toEqual({ ok: row(0) });
    expect(audit().get(row(0))).toMatchObject({ _admin_applookup_value: apps[0] });
  });

  it("reads a filtered, selected collection and follows @odata.nextLink to the last page", () => {
    expect(out.filtered).toEqual({ ok: [apps[0], apps[1]].sort() });
    expect(out.paged).toEqual({ ok: [...apps].sort() });
    expect(out.firstPage).toEqual({ ok: { count: 2, hasNext: true } });
  });

  it("updates with the row's ETag once and reports the stale ETag as not updated (412)", () => {
    expect(out.etag).toMatch(/^W\/"\d+"$/);
    expect(out.conditional).toEqual({ ok: true });
    expect(out.stale).toEqual({ ok: false });
    const app = emu.dataverse!.rows("admin_apps").find((r) => r.admin_appid === apps[2]);
    expect(app?.admin_applastlaunchedon).toBe("2026-03-01T10:00:00Z");
    // The client revives dates, so the row comes back with a Date (printed with milliseconds).
    expect(out.representation).toMatchObject({
      ok: { admin_appid: apps[2], admin_applastlaunchedon: "2026-03-01T10:00:00.000Z" },
    });
  });

  it("gets no row back for If-None-Match with the current ETag (304)", () => {
    expect(out.notModified).toEqual({ ok: null });
  });

  it("runs a $batch change set, and surfaces a failing change set as the batch's error with Dataverse's code", () => {
    expect(out.batch).toHaveProperty("ok");
    expect(audit().has(row(1)) && audit().has(row(2))).toBe(true);
    const failed = out.failedBatch as { error: { status: number; code: string }[] };
    expect(failed.error).toEqual([expect.objectContaining({ status: 400, code: "0x80044331" })]);
    expect(audit().has(row(3))).toBe(false);
    const continued = out.continued as { ok: unknown[] };
    expect(continued.ok).toHaveLength(2);
    expect(continued.ok[0]).toMatchObject({ status: 400, error: { code: "0x80044331" } });
    expect(audit().has(row(5))).toBe(false);
    expect(audit().has(row(6))).toBe(true);
  });

  it("finds UpsertMultiple in sdkmessagefilters and calls it", () => {
    expect(out.hasUpsertMultiple).toEqual({ ok: 1 });
    expect(out.upsertMultiple).toEqual({ ok: null });
    expect(audit().has(row(7)) && audit().has(row(8))).toBe(true);
  });
});
