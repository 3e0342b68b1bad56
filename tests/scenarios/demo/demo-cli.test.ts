/**
 * The `npm run demo` command line: its options, and Ctrl-C in the middle of the backfill, which
 * must stop the runtime child, the emulator and Azurite and exit 130.
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../../demo/runtime-cli";
import { alive, refuses } from "../../helpers/processes";

function demo(args: string[]) {
  const child = spawn(process.execPath, ["--import", "tsx", "demo/main.ts", ...args], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const out = { stdout: "", stderr: "" };
  child.stdout.on("data", (c: Buffer) => (out.stdout += c.toString()));
  child.stderr.on("data", (c: Buffer) => (out.stderr += c.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("close", (code, signal) => resolve({ code, signal })),
  );
  return { child, out, done };
}

/** Direct children of a process with their command lines (Linux /proc). */
function childrenOf(pid: number): { pid: number; cmd: string }[] {
  const found: { pid: number; cmd: string }[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The command name in field 2 may hold spaces; the fields after its ")" are fixed.
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid !== pid) continue;
      const cmd = readFileSync(`/proc/${entry}/cmdline`, "utf8").replace(/\0/g, " ");
      found.push({ pid: Number(entry), cmd });
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 45_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("npm run demo, command line", () => {
  let outDir: string;
  beforeAll(async () => {
    outDir = await mkdtemp(join(tmpdir(), "coe-demo-cli-"));
  });
  afterAll(async () => {
    if (outDir) await rm(outDir, { recursive: true, force: true });
  });

  it("explains its options with --help and refuses a bad one with exit 2", async () => {
    const help = demo(["--help"]);
    expect((await help.done).code).toBe(0);
    expect(help.out.stdout).toContain("--out <dir>");
    const bad = demo(["--apps", "many"]);
    expect((await bad.done).code).toBe(2);
    expect(bad.out.stderr).toContain('--apps must be a whole number of at least 1, got "many"');
    expect(help.out.stdout).toContain("--stale-days <n>");
    const stale = demo(["--stale-days", "7"]);
    expect((await stale.done).code).toBe(2);
    expect(stale.out.stderr).toContain("--stale-days must be at most 6");
  });

  it("on Ctrl-C during the backfill stops the runtime, the emulator and Azurite and exits 130", async () => {
    const run = demo([
      "--out",
      outDir,
      "--apps",
      "6",
      "--users",
      "30",
      "--launches-per-day",
      "200",
    ]);
    const pid = run.child.pid!;
    const [, emulatorPort, azuritePort] = await waitFor(
      "the endpoints line",
      () =>
        /emulator https:\/\/127\.0\.0\.1:(\d+)\s+Azurite http:\/\/127\.0\.0\.1:(\d+)/.exec(
          run.out.stdout,
        ) ?? undefined,
    );
    const once = await waitFor("the backfill child", () =>
      childrenOf(pid).find((c) => c.cmd.includes("cli.ts once")),
    );
    const azurite = childrenOf(pid).find((c) => c.cmd.includes("azurite"));
    expect(azurite, "Azurite runs as a child of the demo").toBeDefined();

    run.child.kill("SIGINT");
    const exit = await run.done;
    expect(exit.code, run.out.stderr).toBe(130);
    expect(run.out.stderr).toContain("demo interrupted");
    expect(run.out.stdout).toContain("removed their temp dirs");
    expect(alive(once.pid), "the backfill child").toBe(false);
    expect(alive(azurite!.pid), "Azurite").toBe(false);
    expect(await refuses(Number(emulatorPort)), "emulator port").toBe(true);
    expect(await refuses(Number(azuritePort)), "Azurite port").toBe(true);
    // It stopped before writing any report.
    expect(existsSync(join(outDir, "usage-report.html"))).toBe(false);
  });
});
