/**
 * Runs a static check of the repository (what the npm scripts `typecheck`, `lint` and
 * `format:check` run) as a child process from the repository root, and returns its exit code and
 * output. They run as tests of the `static` project (vitest.config.ts) so that `npm test` starts
 * them beside the other projects: each is single-threaded, and run before vitest they left one of
 * two cores idle for half a minute.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

export interface CheckResult {
  code: number | null;
  output: string;
}

/** `bin` relative to node_modules, run with this Node and the given arguments from the repo root. */
export function runCheck(bin: string, args: string[]): Promise<CheckResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [`node_modules/${bin}`, ...args], {
      cwd: REPO_ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, FORCE_COLOR: "0", NO_COLOR: "1" },
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output }));
  });
}
