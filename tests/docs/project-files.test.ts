import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { POWER_APPS_CONTENT_TYPE } from "../../sync-runtime/contract";
import { DEFAULT_APP_DISPLAY_NAME, parseStackSettings } from "../../components/config";
import { pulumiConfigDefaults } from "./markdown";
import {
  PROJECT,
  REPO_ROOT,
  STACK_FILES,
  projectConfigKeys,
  readStackConfig,
} from "../pulumi/stack-files";

const pulumiYaml = readFileSync(`${REPO_ROOT}Pulumi.yaml`, "utf8");

/**
 * Project keys the program reads, recorded by running its config parser (bare keys belong to
 * the project; `ns:key` to a provider). Every read in parseStackSettings is unconditional.
 */
function keysReadByProgram(): string[] {
  const keys = new Set<string>();
  parseStackSettings((key) => {
    if (!key.includes(":")) keys.add(key);
    return key === "azure-native:location" ? "eastus" : undefined;
  });
  return [...keys];
}

describe("Pulumi.yaml", () => {
  it("names the project the tests and stack files use", () => {
    expect(pulumiYaml).toMatch(new RegExp(`^name: ${PROJECT}$`, "m"));
  });

  it("describes every config key the program reads", () => {
    const read = keysReadByProgram();
    expect(read).toEqual(
      expect.arrayContaining(["cloud", "appDisplayName", "secretLifetimeDays", "syncImage"]),
    );
    expect(projectConfigKeys().sort()).toEqual(read.sort());
    const described = pulumiYaml.split(/^config:\s*$/m)[1];
    for (const key of read) {
      expect(described).toMatch(new RegExp(`^  ${key}:\\n(    .*\\n)*?    description:`, "m"));
    }
  });

  it("states the defaults the program applies", () => {
    const defaults = pulumiConfigDefaults(pulumiYaml);
    expect(defaults.get("appDisplayName")).toBe(DEFAULT_APP_DISPLAY_NAME);
    expect(defaults.get("contentTypes")).toBe(POWER_APPS_CONTENT_TYPE);
  });

  it("runs the TypeScript ESM entry with tsx instead of the built-in ts-node", () => {
    expect(pulumiYaml).toMatch(/^ {4}typescript: false$/m);
    expect(pulumiYaml).toMatch(/^ {4}nodeargs: "--import tsx"$/m);
    const pkg = JSON.parse(readFileSync(`${REPO_ROOT}package.json`, "utf8"));
    expect(pkg.type).toBe("module");
    expect(pkg.main).toBe("index.ts");
    expect(pkg.dependencies.tsx).toBeDefined();
  });

  it("loads index.ts under plain node with those nodeargs (as the language host does)", async () => {
    const nodeargs = /^ {4}nodeargs: "(.*)"$/m.exec(pulumiYaml)![1].split(" ");
    const script = `await import(${JSON.stringify(`${REPO_ROOT}index.ts`)}); console.log("loaded"); process.exit(0);`;
    // Without an engine the program stops at its first resource and the SDK's exit hook
    // complains about pending promises; only "the module graph loaded" is proven here.
    const stdout = await new Promise<string>((resolve) => {
      execFile(
        process.execPath,
        [...nodeargs, "--input-type=module", "-e", script],
        {
          cwd: REPO_ROOT,
          env: { ...process.env, PULUMI_CONFIG: JSON.stringify(readStackConfig(STACK_FILES.dev)) },
          timeout: 30_000,
        },
        (_error, out) => resolve(String(out)),
      );
    });
    expect(stdout.trim()).toBe("loaded");
  });
});

describe("example stack files", () => {
  it.each(Object.values(STACK_FILES))("%s holds no secret and only known keys", (file) => {
    const config = readStackConfig(file);
    const known = new Set(projectConfigKeys().map((k) => `${PROJECT}:${k}`));
    for (const key of Object.keys(config)) {
      if (key.startsWith("azure-native:")) expect(["azure-native:location"]).toContain(key);
      else expect(known, `${file}: ${key}`).toContain(key);
    }
    expect(readFileSync(`${REPO_ROOT}${file}`, "utf8")).not.toMatch(/secure:/);
  });
});
