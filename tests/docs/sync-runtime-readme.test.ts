import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { HELP } from "../../sync-runtime/src/commands/run-cli";
import { METRIC_DEFINITIONS } from "../../sync-runtime/src/core/metrics";

const readme = readFileSync("sync-runtime/README.md", "utf8");

describe("sync-runtime/README.md", () => {
  it("documents every metric and every command of --help", () => {
    for (const [name] of METRIC_DEFINITIONS) expect(readme).toContain(`\`${name}\``);
    for (const command of ["subscription start", "once", "serve", "report", "gaps"]) {
      expect(HELP).toContain(command);
      expect(readme).toContain(`\`${command}`);
    }
  });
});
