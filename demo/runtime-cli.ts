/**
 * Runs the sync runtime's real command line as a child process (its source through tsx, or the
 * bundle the container runs). Spawning keeps the emulator's
 * rule of never importing runtime code, and it is the production code path: only the endpoints
 * in the environment differ. The CA of the emulator reaches the child through NODE_EXTRA_CA_CERTS,
 * which Node only reads at process start.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The repository root (this file is demo/runtime-cli.ts). */
export const REPO_ROOT = fileURLToPath(new URL("../", import.meta.url));

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  /** Captured only when stderr is not shown on the terminal. */
  stderr: string;
}

export interface RuntimeCliOptions {
  /** Environment of the child: the AUDIT_* variables and NODE_EXTRA_CA_CERTS. */
  env: Record<string, string>;
  /** Pass the child's stderr (progress, logs) straight to ours, so a terminal shows progress. */
  showStderr: boolean;
  /**
   * A runtime bundle to run (the `main.mjs` of `npm run build:runtime`), as the container does.
   * Default: the TypeScript entry through tsx, so the demo always runs the code in the tree (a
   * bundle in dist/ can be older than the source); tests pass the bundle their run built.
   */
  bundle?: string;
}

/**
 * Starts and tracks runtime CLI children, so a Ctrl-C can stop every one still running, and a
 * caller can check afterwards that none is left.
 */
export class RuntimeCli {
  private readonly running = new Set<ChildProcess>();
  /** Process ids of every child started, finished or not. */
  readonly pids: number[] = [];

  constructor(private readonly options: RuntimeCliOptions) {}

  run(args: string[]): Promise<CliRun> {
    const entry = this.options.bundle
      ? [this.options.bundle]
      : ["--import", "tsx", "sync-runtime/src/cli.ts"];
    const child = spawn(process.execPath, [...entry, ...args], {
      cwd: REPO_ROOT,
      env: childEnv(this.options.env),
      stdio: ["ignore", "pipe", this.options.showStderr ? "inherit" : "pipe"],
    });
    if (child.pid !== undefined) this.pids.push(child.pid);
    this.running.add(child);
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr?.on("data", (c: Buffer) => (stderr += c.toString()));
    return new Promise((resolve, reject) => {
      child.once("error", (err) => {
        this.running.delete(child);
        reject(err);
      });
      child.once("close", (code, signal) => {
        this.running.delete(child);
        resolve({ code, signal, stdout, stderr });
      });
    });
  }

  /** Runs a command and returns its stdout; any other outcome than exit 0 is an error. */
  async runOk(args: string[]): Promise<string> {
    const result = await this.run(args);
    if (result.code !== 0) {
      const how = result.signal ? `was killed by ${result.signal}` : `exited with ${result.code}`;
      const detail = result.stderr.trim() ? `\n${result.stderr.trim()}` : "";
      throw new Error(`sync ${args.join(" ")} ${how}${detail}`);
    }
    return result.stdout;
  }

  /** Stops every running child: SIGTERM (the runtime stops gracefully), SIGKILL after graceMs. */
  async stopAll(graceMs = 3_000): Promise<void> {
    await Promise.all(
      [...this.running].map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const force = setTimeout(() => child.kill("SIGKILL"), graceMs);
            child.once("close", () => {
              clearTimeout(force);
              resolve();
            });
            child.kill("SIGTERM");
          }),
      ),
    );
  }

  /** Last resort on process exit: synchronous, so it can run in an "exit" handler. */
  killAllNow(): void {
    for (const child of this.running) child.kill("SIGKILL");
  }
}

/*
 * The parent's environment minus anything that would point the runtime elsewhere (a developer
 * shell may hold real AUDIT_* or managed-identity settings), plus the demo's own variables.
 */
function childEnv(own: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value === undefined) continue;
    if (
      name.startsWith("AUDIT_") ||
      name.startsWith("AZURE_") ||
      // A managed identity of the developer's own machine (App Service, Cloud Shell, a VM's IMDS
      // override) must not stand in for the emulator's.
      name.startsWith("IDENTITY_") ||
      name.startsWith("MSI_") ||
      name === "IMDS_ENDPOINT" ||
      name === "NODE_EXTRA_CA_CERTS"
    )
      continue;
    env[name] = value;
  }
  return { ...env, ...own };
}
