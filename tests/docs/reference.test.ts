import { describe, expect, it } from "vitest";
import { HELP } from "../../sync-runtime/src/commands/run-cli";
import { METRIC_DEFINITIONS } from "../../sync-runtime/src/core/metrics";
import { projectConfigKeys } from "../pulumi/stack-files";
import { keyedRows, pulumiConfigDefaults, read, section } from "./markdown";

describe("README.md", () => {
  const readme = read("README.md");

  it("stays the front door: at most 250 lines", () => {
    expect(readme.split("\n").length).toBeLessThanOrEqual(250);
  });

  it("gives the two set-up commands, both backed by npm scripts", () => {
    const tryIt = section(readme, "Try it").split(/^### /m)[0]!;
    const commands = [...tryIt.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!.trim());
    expect(commands).toEqual(["npm install && npm run demo", "npm test"]);
    const pkg = JSON.parse(read("package.json"));
    expect(pkg.scripts.demo).toBe("tsx demo/main.ts");
    expect(pkg.scripts.test).toBeDefined();
  });
});

describe("docs/configuration.md", () => {
  const rows = keyedRows(section(read("docs/configuration.md"), "Stack configuration"));

  it("lists every stack key of Pulumi.yaml with its default, and no other", () => {
    const keys = pulumiConfigDefaults(read("Pulumi.yaml"));
    expect([...keys.keys()]).toEqual(expect.arrayContaining(["cloud", "secretLifetimeDays"]));
    expect([...keys.keys()].sort()).toEqual(projectConfigKeys().sort());
    for (const [key, value] of keys) {
      expect(rows.has(key), `docs/configuration.md row for ${key}`).toBe(true);
      // An empty default is described in words, e.g. "(none)" or "(build)".
      if (value === "") expect(rows.get(key)![1], key).toMatch(/^\(.+\)$/);
      else expect(rows.get(key)![1], key).toBe(`\`${value}\``);
    }
    const providerKeys = [...rows.keys()].filter((key) => key.includes(":"));
    expect(providerKeys.sort()).toEqual(["azure-native:location", "azure-native:subscriptionId"]);
    expect(rows.size).toBe(keys.size + providerKeys.length);
  });
});

describe("docs/deploy.md", () => {
  it("documents every stack output", () => {
    const deploy = read("docs/deploy.md");
    const outputs = [...read("index.ts").matchAll(/^export const (\w+)/gm)].map((m) => m[1]!);
    expect(outputs.length).toBeGreaterThan(10);
    for (const name of outputs) expect(deploy, name).toContain(`\`${name}\``);
  });
});

describe("docs/operations.md", () => {
  const operations = read("docs/operations.md");

  it("documents every metric in its table", () => {
    const metrics = section(operations, "Health and metrics");
    expect(METRIC_DEFINITIONS.length).toBeGreaterThan(20);
    for (const [name] of METRIC_DEFINITIONS) expect(metrics, name).toContain(`| \`${name}\` (`);
  });

  it("documents every command of --help", () => {
    for (const command of [
      "subscription start",
      "once",
      "serve",
      "report",
      "gaps",
      "rebuild-rollups",
    ]) {
      expect(HELP).toContain(command);
      expect(section(operations, "The runtime's commands")).toContain(`\`${command}`);
    }
  });
});
