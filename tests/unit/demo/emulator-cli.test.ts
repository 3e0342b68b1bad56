import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { send } from "../emulator/helpers";

const ROOT = new URL("../../..", import.meta.url).pathname;

function cli(args: string[]) {
  const child = spawn(process.execPath, ["--import", "tsx", "demo/emulator-cli.ts", ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, exited, out: () => out, err: () => err };
}

describe("npm run emulator", () => {
  it("prints usage for --help and a clear error for a bad option", async () => {
    const help = cli(["--help"]);
    expect(await help.exited).toBe(0);
    expect(help.out()).toMatch(/^Usage: npm run emulator/);
    const bad = cli(["--quota", "lots"]);
    expect(await bad.exited).toBe(2);
    expect(bad.err()).toContain('--quota must be a number, got "lots"');
  });

  it("starts, prints its URL, CA path, credentials and AUDIT_* lines, and stops cleanly on SIGTERM", async () => {
    const run = cli(["--seed", "cli", "--days", "1", "--future-days", "0"]);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no banner: ${run.out()} ${run.err()}`)),
        20_000,
      );
      run.child.stdout.on("data", () => {
        if (run.out().includes("Ctrl-C to stop")) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const text = run.out();
    const env = Object.fromEntries(
      [...text.matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1], m[2].replace(/^'|'$/g, "")]),
    );
    expect(Object.keys(env).sort()).toEqual([
      "AUDIT_AUDIENCE",
      "AUDIT_AUTHORITY",
      "AUDIT_CLIENT_ID",
      "AUDIT_CLIENT_SECRET",
      "AUDIT_CONTENT_TYPES",
      "AUDIT_CREDENTIAL",
      "AUDIT_GRAPH_ENDPOINT",
      "AUDIT_PUBLISHER_ID",
      "AUDIT_TENANT_ID",
      "NODE_EXTRA_CA_CERTS",
    ]);
    expect(env.AUDIT_CREDENTIAL).toBe("secret");
    expect(text).toContain(`client secret   ${env.AUDIT_CLIENT_SECRET}`);
    const ca = readFileSync(env.NODE_EXTRA_CA_CERTS, "utf8");
    const res = await send(
      ca,
      "GET",
      `${env.AUDIT_AUTHORITY}/${env.AUDIT_TENANT_ID}/v2.0/.well-known/openid-configuration`,
    );
    expect(res.status).toBe(200);
    run.child.kill("SIGTERM");
    expect(await run.exited).toBe(0);
    expect(existsSync(env.NODE_EXTRA_CA_CERTS)).toBe(false);
  });

  it("--federated prints the managed identity's environment, without a secret", async () => {
    const run = cli([
      "--seed",
      "cli",
      "--days",
      "1",
      "--future-days",
      "0",
      "--federated",
      "--json",
    ]);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no line: ${run.out()} ${run.err()}`)),
        20_000,
      );
      run.child.stdout.on("data", () => {
        if (run.out().includes("\n")) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const { env } = JSON.parse(run.out()) as { env: Record<string, string> };
    expect(env.AUDIT_CREDENTIAL).toBe("federated");
    expect(env.AUDIT_CLIENT_SECRET).toBeUndefined();
    expect(env.IDENTITY_ENDPOINT).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/msi\/token$/);
    const token = await fetch(
      `${env.IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=api://AzureADTokenExchange&client_id=${env.AZURE_CLIENT_ID}`,
      { headers: { "X-IDENTITY-HEADER": env.IDENTITY_HEADER } },
    );
    expect(token.status).toBe(200);
    run.child.kill("SIGTERM");
    expect(await run.exited).toBe(0);
  });
});
