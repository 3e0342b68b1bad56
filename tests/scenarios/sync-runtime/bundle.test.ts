import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { runtimeEnvFor } from "../../../demo/runtime-env";
import { startEmulator } from "../../../emulator/index";
import { claimStorageAccount, runtimeBundle } from "../../helpers/scenario-services";

const run = promisify(execFile);

/**
 * The container image runs the esbuild bundle that `npm run build:runtime` (and the Dockerfile)
 * produce. There is no Docker engine here, so this proves the bundle step and its content; the
 * Dockerfile itself is only checked for the facts the Pulumi program relies on. The bundle is the
 * one the scenario tiers' global setup built with the same script (tests/setup).
 */
describe("runtime bundle", () => {
  const dir = dirname(runtimeBundle());

  it("contains no Pulumi and no emulator code", async () => {
    const meta = JSON.parse(await readFile(join(dir, "meta.json"), "utf8")) as {
      inputs: Record<string, unknown>;
    };
    const inputs = Object.keys(meta.inputs);
    expect(inputs).toContain("sync-runtime/src/cli.ts");
    expect(
      inputs.filter(
        (i) => i.includes("@pulumi") || i.startsWith("emulator/") || i.startsWith("components/"),
      ),
    ).toEqual([]);
    const bundle = await readFile(join(dir, "main.mjs"), "utf8");
    expect(bundle).not.toContain("@pulumi/");
  });

  it("runs on its own, outside the repository's node_modules", async () => {
    const { stdout } = await run(process.execPath, [join(dir, "main.mjs"), "--help"], { cwd: dir });
    expect(stdout).toContain("AUDIT_CLIENT_SECRET");
    const failure = await run(process.execPath, [join(dir, "main.mjs"), "once"], {
      cwd: dir,
      env: { PATH: process.env.PATH },
    }).catch((e) => e);
    expect(failure.code).toBe(2);
    expect(failure.stderr).toContain("AUDIT_TENANT_ID");
  });

  it("syncs against the emulator and Azurite on its own (what the image runs)", async () => {
    const [emulator, connectionString] = await Promise.all([
      // Enough launches that the 4 hours before any time of day (nights, weekends) hold some.
      startEmulator({ seed: "bundle", tenant: { days: 1, futureDays: 0, launchesPerDay: 2000 } }),
      claimStorageAccount(),
    ]);
    try {
      const env = {
        PATH: process.env.PATH,
        ...runtimeEnvFor(emulator),
        AUDIT_STORAGE_CONNECTION_STRING: connectionString,
        AUDIT_FIRST_RUN_HOURS: "4",
      };
      // execFile (not the sync variant): the emulator answers from this very process.
      const { stdout } = await run(process.execPath, [join(dir, "main.mjs"), "once"], {
        cwd: dir,
        env,
      });
      const [summary] = JSON.parse(stdout) as { blobsProcessed: number; launches: number }[];
      expect(summary.blobsProcessed).toBeGreaterThan(0);
      expect(summary.launches).toBeGreaterThan(0);
    } finally {
      await emulator.stop();
    }
  });

  it("is what the Dockerfile builds: root context, bundle only, non-root", async () => {
    const dockerfile = await readFile("sync-runtime/Dockerfile", "utf8");
    expect(dockerfile).toContain("RUN node sync-runtime/build.mjs /out");
    expect(dockerfile).toMatch(/COPY --from=build \/out\/main\.mjs/);
    expect(dockerfile).toMatch(/^USER node$/m);
    const ignore = await readFile("sync-runtime/Dockerfile.dockerignore", "utf8");
    expect(ignore).toMatch(/^\*$/m);
  });

  it("builds and runs on a supported Node LTS image pinned by digest", async () => {
    const dockerfile = await readFile("sync-runtime/Dockerfile", "utf8");
    const args = Object.fromEntries(
      [...dockerfile.matchAll(/^ARG (\w+)=(\S+)$/gm)].map((m) => [m[1], m[2]]),
    );
    const images = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) =>
      m[1].replace(/^\$\{(\w+)\}$/, (_, name: string) => args[name] ?? name),
    );
    expect(images).toHaveLength(2);
    for (const image of images) {
      // Node 20 left support on 2026-04-30; 22 and 24 are LTS lines (nodejs/Release schedule).
      expect(image).toMatch(/^node:(22|24)-slim@sha256:[0-9a-f]{64}$/);
    }
  });
});
