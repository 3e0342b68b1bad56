/**
 * The order files start in. Vitest runs the longest files first when its duration cache has them
 * (node_modules/.vite), but a clean clone has no cache and starts the largest files first, which
 * left the longest scenario for the last minute of the run. These files, longest first, start
 * before all others; everything else keeps vitest's own order. Only the order depends on this
 * list: a file missing from it still runs.
 */
import { relative } from "node:path";
import { BaseSequencer, type TestSpecification } from "vitest/node";

const SLOW_FIRST = [
  "tests/scenarios/sync-runtime/dataverse-backfill.test.ts",
  "tests/scenarios/sync-runtime/rollups.test.ts",
  "tests/pulumi/program.test.ts",
  // Waits out a killed pass's lease (15 s) besides its own work: idle time others can fill.
  "tests/scenarios/sync-runtime/cli.test.ts",
  // The static checks: one busy core each for 8 to 15 s, started while the scenarios wait.
  "tests/static/types-and-lint.test.ts",
  "tests/scenarios/sync-runtime/dataverse-user-details.test.ts",
  "tests/scenarios/sync-runtime/graph-source.test.ts",
  "tests/scenarios/sync-runtime/dataverse-user-details-retry.test.ts",
  "tests/scenarios/sync-runtime/dataverse-progress.test.ts",
  "tests/scenarios/sync-runtime/dataverse-batch-size.test.ts",
  "tests/faults/fault-suite.test.ts",
  "tests/scenarios/sync-runtime/graph-backfill.test.ts",
  "tests/scenarios/demo/demo-graph.test.ts",
  "tests/scenarios/demo/demo-dataverse.test.ts",
  "tests/scenarios/sync-runtime/dataverse-poison.test.ts",
  "tests/scenarios/demo/demo.test.ts",
  "tests/static/format.test.ts",
  "tests/scenarios/sync-runtime/sync-week.test.ts",
  "tests/scenarios/sync-runtime/dataverse-week.test.ts",
  "tests/scenarios/sync-runtime/dataverse-coe-rows.test.ts",
  "tests/scenarios/sync-runtime/secrets.test.ts",
  "tests/scenarios/demo/demo-cli.test.ts",
  "tests/scenarios/sync-runtime/one-writer.test.ts",
];

export class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (spec: TestSpecification) => {
      const index = SLOW_FIRST.indexOf(relative(this.ctx.config.root, spec.moduleId));
      return index === -1 ? SLOW_FIRST.length : index;
    };
    // Array.prototype.sort is stable: files off the list keep vitest's order.
    return sorted.sort((a, b) => rank(a) - rank(b));
  }
}
