import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { VARIABLES } from "../../sync-runtime/src/config";
import {
  normaliseTable,
  pulumiConfigDefaults,
  PULUMI_YAML_PATH,
  README_PATH,
  runtimeVariablesBlock,
  stackTableDefaults,
  withRuntimeVariables,
} from "./readme-reference";

const readme = readFileSync(README_PATH, "utf8");

describe("README.md", () => {
  it("has the runtime variables table generated from sync-runtime/src/config.ts", () => {
    const block = runtimeVariablesBlock(readme);
    expect(block, "runtime-variables markers in README.md").toBeDefined();
    const fresh = runtimeVariablesBlock(withRuntimeVariables(readme))!;
    expect(
      normaliseTable(block!),
      "README.md is out of date: run `npx tsx tests/readme/readme-reference.ts && npx prettier --write README.md`",
    ).toBe(normaliseTable(fresh));
    for (const v of VARIABLES) expect(block).toContain(`\`${v.name}\``);
  });

  it("lists every stack key of Pulumi.yaml with its default", () => {
    const keys = pulumiConfigDefaults(readFileSync(PULUMI_YAML_PATH, "utf8"));
    expect([...keys.keys()]).toEqual(expect.arrayContaining(["cloud", "secretLifetimeDays"]));
    const rows = stackTableDefaults(readme);
    for (const [key, value] of keys) {
      expect(rows.has(key), `README row for ${key}`).toBe(true);
      // An empty default is described in words, e.g. "(none)" or "(build)".
      if (value === "") expect(rows.get(key), key).toMatch(/^\(.+\)$/);
      else expect(rows.get(key), key).toBe(`\`${value}\``);
    }
  });

  it("gives the two set-up commands, both backed by npm scripts", () => {
    const tryIt = readme.split(/^## Try it\s*$/m)[1]?.split(/^## /m)[0] ?? "";
    const commands = [...tryIt.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1].trim());
    expect(commands).toEqual(["npm install && npm run demo", "npm test"]);
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
    expect(pkg.scripts.demo).toBe("tsx demo/main.ts");
    expect(pkg.scripts.test).toContain("vitest run");
  });
});
