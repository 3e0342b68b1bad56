import { defineConfig } from "vitest/config";
import { SlowFirstSequencer } from "./tests/setup/slow-first";

/*
 * Test tiers (CONTRIBUTING.md): `npm run test:unit` is the quick loop, `npm run test:scenarios`
 * the emulator + Azurite tier, `npm test` all of them.
 *
 * Projects of the same `sequence.groupOrder` share one pool, so unit, pulumi and scenarios run side
 * by side with WORKERS files at a time; the serial project (one worker) runs after them, alone.
 * Vitest's default on 2 cores is a single worker, and scenario files mostly wait (on sockets, on
 * child processes, on the emulator's latency), so they overlap well beyond the core count.
 */
const WORKERS = 4;

/** Tests in tests/unit that start processes or need Azurite: they run with the scenarios. */
const UNIT_WITH_SERVICES = [
  "tests/unit/demo/emulator-cli.test.ts",
  "tests/unit/sync-runtime/storage/abort.test.ts",
  "tests/unit/sync-runtime/storage/archive-upload.test.ts",
  "tests/unit/sync-runtime/storage/read-modify-write.test.ts",
  "tests/unit/sync-runtime/storage/user-ids.test.ts",
  "tests/unit/sync-runtime/presentation/report/render-html.browser.test.ts",
];

/** Loads the Pulumi program in a child process (as the language host does): with the program's tests. */
const PROGRAM_LOAD = "tests/docs/project-files.test.ts";

/**
 * Files whose assertions measure time on the wall clock against their own child processes (a
 * graceful stop within 2.9 s): they run one at a time once the others are done, so a busy
 * machine cannot make them flaky.
 */
const SERIAL = ["tests/unit/demo/azurite.test.ts"];

/** The runtime bundle and one in-memory Azurite per worker, once per run (tests/setup). */
const SCENARIO_SETUP = "tests/setup/scenario-services.ts";

/**
 * Scenario tests share the cores with WORKERS - 1 others, and on a shared machine with whatever
 * else runs: three times the time a lone file had, so that a busy machine is not a failure. A hang
 * still fails within the run.
 */
const SCENARIO_TIMEOUT_MS = 180_000;

export default defineConfig({
  test: {
    // Integration tests start real servers (emulator, Azurite); give them room on a 2-core machine.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    maxWorkers: WORKERS,
    sequence: { sequencer: SlowFirstSequencer },
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          // Pure tests (in-process servers on port 0 at most): threads start quicker than forks,
          // and sharing each thread's loaded modules between files halves the tier's CPU time.
          isolate: false,
          include: [
            "tests/unit/**/*.test.ts",
            "tests/architecture/**/*.test.ts",
            "tests/docs/**/*.test.ts",
          ],
          exclude: [...UNIT_WITH_SERVICES, ...SERIAL, PROGRAM_LOAD],
          pool: "threads",
        },
      },
      {
        extends: true,
        test: {
          name: "static",
          // The type-check and the lint (one child process, one TypeScript program for both) and
          // the format check (tests/static): single-threaded, so they run beside the other
          // projects instead of before them.
          include: ["tests/static/**/*.test.ts"],
          pool: "forks",
          testTimeout: SCENARIO_TIMEOUT_MS,
        },
      },
      {
        extends: true,
        test: {
          name: "pulumi",
          // Pulumi's mocks are process-wide state, and every program run sets them, the config
          // and a fresh copy of the program first: files share a fork (isolate: false) instead of
          // loading @pulumi/pulumi and the providers again each, a quarter of the project's CPU.
          include: ["tests/pulumi/**/*.test.ts", "tests/policy/**/*.test.ts", PROGRAM_LOAD],
          pool: "forks",
          isolate: false,
          setupFiles: ["tests/setup/pulumi-stacks.ts"],
        },
      },
      {
        extends: true,
        test: {
          name: "scenarios",
          // A fork per file loaded the Azure SDKs, the emulator and the runtime again for each of
          // about 40 files; reusing the 4 forks saves a fifth of the tier's CPU time. Every test
          // environment still gets its own storage account, emulator and ports, and process.env
          // is restored after each test (CONTRIBUTING.md).
          isolate: false,
          include: [
            "tests/scenarios/**/*.test.ts",
            "tests/faults/**/*.test.ts",
            ...UNIT_WITH_SERVICES,
          ],
          exclude: SERIAL,
          pool: "forks",
          testTimeout: SCENARIO_TIMEOUT_MS,
          hookTimeout: SCENARIO_TIMEOUT_MS,
          globalSetup: [SCENARIO_SETUP],
        },
      },
      {
        extends: true,
        test: {
          name: "serial",
          include: SERIAL,
          pool: "forks",
          maxWorkers: 1,
          testTimeout: SCENARIO_TIMEOUT_MS,
          hookTimeout: SCENARIO_TIMEOUT_MS,
          globalSetup: [SCENARIO_SETUP],
        },
      },
    ],
  },
});
