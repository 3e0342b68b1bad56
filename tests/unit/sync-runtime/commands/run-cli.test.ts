import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import {
  EXIT,
  HELP,
  parseArgs,
  parseStaleDays,
  parseTime,
  runCli,
} from "../../../../sync-runtime/src/commands/run-cli";

const env = {
  AUDIT_TENANT_ID: "11111111-2222-3333-4444-555555555555",
  AUDIT_CLIENT_ID: "66666666-7777-8888-9999-000000000000",
  AUDIT_CLIENT_SECRET: "very~secret.value",
  AUDIT_STORAGE_CONNECTION_STRING: "UseDevelopmentStorage=true",
};

async function cli(argv: string[], e: Record<string, string> = env) {
  let stdout = "";
  let stderr = "";
  const err = new PassThrough();
  err.on("data", (c: Buffer) => (stderr += c.toString()));
  const code = await runCli(argv, {
    stdout: (t) => (stdout += t),
    stderr: err,
    env: e,
    signal: new AbortController().signal,
  });
  return { code, stdout, stderr };
}

describe("runCli (no network: only paths that fail or answer before any I/O)", () => {
  it("prints help with exit 0, and with exit 2 when no command is given", async () => {
    expect(await cli(["--help"], {})).toMatchObject({ code: EXIT.ok, stdout: HELP });
    expect((await cli([], {})).code).toBe(EXIT.usage);
  });

  it("refuses --source graph in GCC High and DoD, where the Management API is the only source", async () => {
    for (const audience of ["https://manage.office365.us", "https://manage.protection.apps.mil"]) {
      const r = await cli(["once", "--source", "graph"], { ...env, AUDIT_AUDIENCE: audience });
      expect(r.code).toBe(EXIT.usage);
      expect(r.stderr).toMatch(/--source graph is not available in GCC High or DoD/);
    }
  });

  it("exits 2 with the variable's name when configuration is missing", async () => {
    const r = await cli(["once"], { ...env, AUDIT_TENANT_ID: "" });
    expect(r.code).toBe(EXIT.usage);
    expect(r.stdout).toBe("");
    expect(JSON.parse(r.stderr.trim())).toMatchObject({ level: "error", key: "AUDIT_TENANT_ID" });
  });

  it("exits 2 on bad command lines, naming the problem", async () => {
    const cases: [string[], RegExp][] = [
      [["frobnicate"], /Unknown command "frobnicate"/],
      [["subscription", "pause"], /start, stop or list/],
      [["report", "--days", "x"], /--days x/],
      [
        ["report", "--days", "2", "--from", "2026-01-01", "--to", "2026-01-02"],
        /either --days or --from/,
      ],
      [["report", "--from", "2026-01-01"], /go together/],
      [["report", "--format", "pdf"], /table, json, csv, html/],
      [["once", "--from", "2026-01-02", "--to", "2026-01-01"], /before --to/],
      [["once", "--days", "2"], /does not apply/],
      [["once", "--verbose"], /Unknown option --verbose/],
      [["once", "--source", "purview"], /--source purview is not one of managementApi, graph/],
      [["once", "--gaps"], /--gaps fills gaps from Microsoft Graph: add --source graph/],
      [["once", "--source", "graph", "--gaps", "--from", "2026-01-01"], /drop --from/],
      [["report", "--gaps"], /does not apply/],
      [["report", "--stale-days", "0"], /--stale-days 0 is not a whole number of days/],
      [["report", "--stale-days", "1.5"], /--stale-days 1.5 is not a whole number/],
      [["report", "--stale-days", "thirty"], /--stale-days thirty .*e\.g\. --stale-days 30/],
      [["report", "--stale-days", "3661"], /between 1 and 3660/],
      [["report", "--stale-days"], /--stale-days needs a value/],
      [["once", "--stale-days", "3"], /--stale-days does not apply to "once"/],
    ];
    for (const [argv, message] of cases) {
      const r = await cli(argv);
      expect(r.code, argv.join(" ")).toBe(EXIT.usage);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toContain(env.AUDIT_CLIENT_SECRET);
    }
  });
});

describe("runCli failures after start", () => {
  it("exits 1 with the error code and what to do when the token endpoint cannot be reached", async () => {
    const r = await cli(["subscription", "list"], {
      ...env,
      AUDIT_AUTHORITY: "https://127.0.0.1:9",
      AUDIT_AUDIENCE: "https://127.0.0.1:9",
      AUDIT_MAX_RETRIES: "0",
    });
    expect(r.code).toBe(EXIT.failed);
    expect(r.stdout).toBe("");
    const entry = JSON.parse(r.stderr.trim().split("\n").pop()!);
    expect(entry).toMatchObject({ level: "error", code: "AUTH" });
    expect(entry.msg).toMatch(/Could not get a token from https:\/\/127\.0\.0\.1:9\//);
    expect(r.stderr).not.toContain(env.AUDIT_CLIENT_SECRET);
  });
});

describe("parseStaleDays", () => {
  it("defaults to 30 and reads whole days", () => {
    expect(parseStaleDays(undefined)).toBe(30);
    expect(parseStaleDays("3")).toBe(3);
    expect(parseStaleDays("3660")).toBe(3660);
    for (const bad of ["", " ", "-1", "0", "2.5", "1e2", "0x10", "3661"]) {
      expect(() => parseStaleDays(bad), JSON.stringify(bad)).toThrow(/--stale-days/);
    }
  });

  it("is explained in --help", () => {
    expect(HELP).toContain("--stale-days");
    expect(HELP).toContain("AUDIT_REPORT_STALE_DAYS");
  });
});

describe("parseArgs and parseTime", () => {
  it("reads --name value and --name=value", () => {
    const p = parseArgs(["report", "--days=3", "--format", "csv"]);
    expect(p.command).toEqual(["report"]);
    expect(Object.fromEntries(p.flags)).toEqual({ days: "3", format: "csv" });
  });

  it("reads times without a zone as UTC, like the API", () => {
    expect(parseTime("from", "2026-05-19").toISOString()).toBe("2026-05-19T00:00:00.000Z");
    expect(parseTime("from", "2026-05-19T13:00").toISOString()).toBe("2026-05-19T13:00:00.000Z");
    expect(parseTime("from", "2026-05-19T13:00:00+02:00").toISOString()).toBe(
      "2026-05-19T11:00:00.000Z",
    );
    expect(() => parseTime("from", "yesterday")).toThrow(/ISO 8601/);
  });
});
