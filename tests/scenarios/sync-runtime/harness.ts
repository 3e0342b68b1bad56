/**
 * Starts the emulator (simulated clock) for an integration test, gives it a storage account of
 * its own on the worker's shared Azurite, and wires a runtime to them in-process: the emulator's
 * CA through an https.Agent, its clock as the runtime's now().
 */
import { Agent } from "node:https";
import { startAzurite, type RunningAzurite } from "../../../demo/azurite";
import { runtimeEnvFor } from "../../../demo/runtime-env";
import {
  startEmulator,
  type DataverseEmulatorOptions,
  type EmulatorOptions,
  type RunningEmulator,
} from "../../../emulator/index";
import { claimStorageAccount } from "../../helpers/scenario-services";
import { loadConfig, secretValues } from "../../../sync-runtime/src/app/config";
import { createLogger } from "../../../sync-runtime/src/core/log";
import {
  createRuntime,
  type Runtime,
  type RuntimeDeps,
} from "../../../sync-runtime/src/app/runtime";

export interface TestEnv {
  emulator: RunningEmulator;
  /**
   * The storage: an account on the worker's shared Azurite, or with `storage: "own"` an Azurite of
   * its own (restart() for storage outages); stop() ends what the environment started.
   */
  azurite: Pick<RunningAzurite, "connectionString" | "stop"> & Partial<RunningAzurite>;
  /** The environment a child process (the CLI) needs, NODE_EXTRA_CA_CERTS included. */
  env: Record<string, string>;
  logs: string[];
  /** A runtime on this environment; `deps` replaces the test defaults (clock, retry, sleep…). */
  runtime(overrides?: Record<string, string>, deps?: RuntimeDeps): Runtime;
  stop(): Promise<void>;
}

/** Fast retries for tests: same policy shape, milliseconds instead of seconds. */
export const FAST_RETRY = { minDelayMs: 5, maxDelayMs: 50, maxRetryAfterMs: 1_000 };

/** Tests that never touch storage pass `{ storage: false }` and get no account. */
const NO_AZURITE = {
  connectionString: "UseDevelopmentStorage=true",
  stop: async () => {},
};

/** An account on the shared Azurite: never reused in this run, so there is nothing to stop. */
async function sharedStorage(): Promise<TestEnv["azurite"]> {
  return { connectionString: await claimStorageAccount(), stop: async () => {} };
}

/**
 * `storage`: true (default) for an account on the worker's shared Azurite; "own" for an Azurite
 * of the test's own, which it may stop and restart; false for none.
 */
export async function startTestEnv(
  emulatorOptions: EmulatorOptions & { dataverse?: DataverseEmulatorOptions },
  runtimeEnv: Record<string, string> = {},
  options: { storage?: boolean | "own" } = {},
): Promise<TestEnv> {
  const storage = options.storage ?? true;
  const [emulator, azurite] = await Promise.all([
    startEmulator(emulatorOptions),
    storage === false ? NO_AZURITE : storage === "own" ? startAzurite() : sharedStorage(),
  ]);
  const env = {
    ...runtimeEnvFor(emulator),
    AUDIT_STORAGE_CONNECTION_STRING: azurite.connectionString,
    AUDIT_RATE_LIMIT_PER_MINUTE: "100000",
    ...runtimeEnv,
  };
  const agent = new Agent({ ca: emulator.caCertPem, keepAlive: true });
  const logs: string[] = [];
  return {
    emulator,
    azurite,
    env,
    logs,
    runtime(overrides = {}, deps = {}) {
      const config = loadConfig({ ...env, ...overrides });
      return createRuntime(config, {
        agent,
        now: () => emulator.clock.now(),
        retry: FAST_RETRY,
        logger: createLogger({
          level: "info",
          write: (l) => logs.push(l),
          secrets: secretValues(config),
        }),
        ...deps,
      });
    },
    async stop() {
      agent.destroy();
      await Promise.all([emulator.stop(), azurite.stop()]);
    },
  };
}

/** The report without `daily` and with zero days dropped, to compare with the ground truth. */
export function comparable<T extends { daily?: { date: string; launches: number }[] }>(r: T) {
  const { daily, ...rest } = r;
  return { ...rest, daily: (daily ?? []).filter((d) => d.launches > 0) };
}

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
