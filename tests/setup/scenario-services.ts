/**
 * Global setup of the tiers that run the runtime against the emulator and Azurite (vitest.config.ts
 * `scenarios` and `serial`). Once per run, in vitest's main process, it
 *
 * - builds the runtime bundle with `sync-runtime/build.mjs`, the script the Dockerfile runs, so
 *   scenario tests start the CLI as the container does (a quarter of a second) instead of through
 *   tsx (two seconds), and a run always tests the code as it is in the tree;
 * - starts one in-memory Azurite per worker, each serving many storage accounts: every test
 *   environment claims an account of its own (tests/helpers/scenario-services.ts), so test files
 *   sharing an Azurite never see each other's tables and containers.
 *
 * Both projects list this file; vitest calls it once per project, so the services are shared
 * through a process-wide slot and stopped after the last project's teardown.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { TestProject } from "vitest/node";
import { startAzurite, type RunningAzurite } from "../../demo/azurite";

/** What the workers get through `inject("scenarioServices")`. */
export interface ScenarioServices {
  /** The runtime bundle, `main.mjs` of `sync-runtime/build.mjs` (its `meta.json` beside it). */
  bundle: string;
  /** One Azurite per worker: VITEST_POOL_ID n uses azurites[(n - 1) % length]. */
  azurites: { blobUrl: string; tableUrl: string }[];
  /** Storage accounts each Azurite serves, claimed one per test environment. */
  accounts: string[];
  /** Folder where a claim is a file created exclusively (atomic across worker processes). */
  claims: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    scenarioServices: ScenarioServices;
  }
}

/**
 * Enough for every test environment of a run to land on one Azurite (about 50 today); a watch
 * session that reruns past it gets a clear error from the claim and a restart fixes it.
 */
const ACCOUNTS_PER_AZURITE = 400;
export const ACCOUNTS = Array.from(
  { length: ACCOUNTS_PER_AZURITE },
  (_, i) => `test${String(i).padStart(4, "0")}`,
);

interface Shared {
  services: Promise<{ provided: ScenarioServices; stop: () => Promise<void> }>;
  users: number;
}
const SLOT = Symbol.for("coe-audit-sync/scenario-services");
const slots = globalThis as unknown as Record<symbol, Shared | undefined>;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // The run's worker count (the serial project's own is 1; whichever project comes first starts
  // the Azurites for all).
  const workers = Number(project.vitest.config.maxWorkers) || 1;
  let shared = slots[SLOT];
  if (!shared) {
    shared = { services: start(workers), users: 0 };
    slots[SLOT] = shared;
  }
  shared.users++;
  const { provided } = await shared.services;
  project.provide("scenarioServices", provided);
  return async () => {
    const current = slots[SLOT];
    if (!current || --current.users > 0) return;
    slots[SLOT] = undefined;
    await (await current.services).stop();
  };
}

async function start(
  workers: number,
): Promise<{ provided: ScenarioServices; stop: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "coe-scenarios-"));
  const bundleDir = join(dir, "bundle");
  const claims = join(dir, "claims");
  const azurites: RunningAzurite[] = [];
  const stop = async () => {
    await Promise.all(azurites.map((a) => a.stop()));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await mkdir(claims);
    const started = Array.from({ length: workers }, () =>
      startAzurite({ inMemory: true, accounts: ACCOUNTS }).then((a) => {
        azurites.push(a);
        return a;
      }),
    );
    await Promise.all([
      promisify(execFile)(process.execPath, ["sync-runtime/build.mjs", bundleDir], {
        cwd: new URL("../../", import.meta.url).pathname,
      }),
      ...started,
    ]);
    return {
      provided: {
        bundle: join(bundleDir, "main.mjs"),
        azurites: azurites.map((a) => ({
          blobUrl: new URL(a.blobEndpoint).origin,
          tableUrl: new URL(a.tableEndpoint).origin,
        })),
        accounts: ACCOUNTS,
        claims,
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
