import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { VARIABLES } from "../../sync-runtime/src/app/config";
import {
  GENERATED_FILES,
  variablesBlock,
  withVariablesTable,
} from "../../sync-runtime/scripts/readme-variables";
import {
  normaliseTable,
  pulumiConfigDefaults,
  PULUMI_YAML_PATH,
  README_PATH,
  stackTableDefaults,
} from "./readme-reference";

const readme = readFileSync(README_PATH, "utf8");

describe.each(GENERATED_FILES)("%s", (file) => {
  it("has the runtime variables table generated from the runtime's config table", () => {
    const text = readFileSync(new URL(`../../${file}`, import.meta.url), "utf8");
    const block = variablesBlock(text);
    expect(block, `runtime-variables markers in ${file}`).toBeDefined();
    const fresh = variablesBlock(withVariablesTable(text))!;
    expect(normaliseTable(block!), `${file} is out of date: run \`npm run docs\``).toBe(
      normaliseTable(fresh),
    );
    for (const v of VARIABLES) expect(block).toContain(`\`${v.name}\``);
  });
});

describe("README.md", () => {
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
