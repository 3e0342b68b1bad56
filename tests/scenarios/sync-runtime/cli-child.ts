import { spawn } from "node:child_process";
import { runtimeBundle } from "../../helpers/scenario-services";

/**
 * Runs the real CLI in a child process, trusting the emulator's CA through NODE_EXTRA_CA_CERTS:
 * the bundle the container runs (built once per run), or with `entry: "source"` the TypeScript
 * entry through tsx, as `npm run sync` runs it.
 */
export function cli(
  args: string[],
  env: Record<string, string>,
  onStderrLine?: (line: string, signal: (s: NodeJS.Signals) => void) => void,
  options: { entry?: "bundle" | "source" } = {},
) {
  const entry =
    options.entry === "source" ? ["--import", "tsx", "sync-runtime/src/cli.ts"] : [runtimeBundle()];
  const child = spawn(process.execPath, [...entry, ...args], {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  let pending = "";
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr.on("data", (c: Buffer) => {
    stderr += c.toString();
    pending += c.toString();
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) onStderrLine?.(line, (s) => void child.kill(s));
  });
  return new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
  }>((resolve) => child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr })));
}
