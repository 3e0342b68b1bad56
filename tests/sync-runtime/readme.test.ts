import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { variablesMarkdown } from "../../sync-runtime/src/config";
import { HELP } from "../../sync-runtime/src/main";
import { METRIC_DEFINITIONS } from "../../sync-runtime/src/metrics";
import { normaliseTable } from "../readme/readme-reference";

const readme = readFileSync("sync-runtime/README.md", "utf8");

describe("sync-runtime/README.md", () => {
  it("has the variables table generated from config.ts", () => {
    const section = /<!-- variables:start[^>]*-->([\s\S]*?)<!-- variables:end -->/.exec(
      readme,
    )?.[1];
    expect(section && normaliseTable(section.trim())).toBe(normaliseTable(variablesMarkdown()));
  });

  it("documents every metric and every command of --help", () => {
    for (const [name] of METRIC_DEFINITIONS) expect(readme).toContain(`\`${name}\``);
    for (const command of ["subscription start", "once", "serve", "report", "gaps"]) {
      expect(HELP).toContain(command);
      expect(readme).toContain(`\`${command}`);
    }
  });
});
