import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * The layout's import boundaries, checked on every source file:
 * - the Pulumi program builds the runtime image but imports nothing of it except its deployment
 *   contract (sync-runtime/contract.ts), which itself imports nothing;
 * - the runtime image stays small (no Pulumi, no emulator, no demo);
 * - the emulator is written from Microsoft's docs, so it never imports the runtime (not even the
 *   contract): the two cannot share a mistake;
 * - the demo composes emulator, Azurite and the runtime's CLI as a process: it may read the
 *   contract to configure that process, no other runtime code;
 * - inside the runtime, layers depend one way: core ← domain ← clients | storage ← app ←
 *   commands ← the entry; presentation (renderers, progress) needs only domain and core.
 */
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const CONTRACT = "sync-runtime/contract.ts";

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && /\.(ts|mts|cts|js|mjs)$/.test(entry.name))
    .map((entry) => relative(root, join(entry.parentPath, entry.name)));
}

/** Every module specifier a file names: static imports, re-exports, dynamic imports, require. */
export function importedSpecifiers(source: string): string[] {
  const patterns = [
    /\b(?:import|export)\s[^"';]*?\bfrom\s*["']([^"']+)["']/g,
    /\bimport\s*["']([^"']+)["']/g,
    /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
    /\brequire\s*\(\s*["']([^"']+)["']\s*\)/g,
  ];
  return patterns.flatMap((pattern) => [...source.matchAll(pattern)].map((match) => match[1]!));
}

/**
 * Where an import lands: a repository path without extension handling ("sync-runtime/contract"
 * and "sync-runtime/contract.ts" both count as the contract), or the package it names.
 */
function target(file: string, specifier: string): string {
  if (!specifier.startsWith(".")) return specifier;
  return relative(root, resolve(root, dirname(file), specifier));
}

const isContract = (landing: string) => landing === CONTRACT || `${landing}.ts` === CONTRACT;
const isPulumi = (landing: string) =>
  landing.startsWith("@pulumi/") || landing.startsWith("@pulumiverse/");
const under = (folder: string) => (landing: string) =>
  landing === folder || landing.startsWith(`${folder}/`);

/** The runtime layer a path under sync-runtime/src belongs to, or undefined outside it. */
export function runtimeLayer(path: string): string | undefined {
  const inSrc = /^sync-runtime\/src\/(.*)$/.exec(path)?.[1];
  if (inSrc === undefined) return undefined;
  const folder = inSrc.split("/")[0]!;
  return inSrc.includes("/") ? folder : "entry";
}

/** Which runtime layers each layer may import (its own included). */
const LAYERS: Record<string, readonly string[]> = {
  core: ["core"],
  domain: ["core", "domain"],
  clients: ["core", "domain", "clients"],
  storage: ["core", "domain", "storage"],
  presentation: ["core", "domain", "presentation"],
  app: ["core", "domain", "clients", "storage", "presentation", "app"],
  commands: ["core", "domain", "clients", "storage", "presentation", "app", "commands"],
  entry: ["core", "commands"],
};

/** A rule: which files it covers and what they must not import (a reason when forbidden). */
interface Rule {
  name: string;
  covers: (file: string) => boolean;
  forbids: (landing: string, file: string) => string | undefined;
}

const RULES: Rule[] = [
  {
    name: "the program imports only the runtime's contract",
    covers: (file) => file === "index.ts" || file.startsWith("components/"),
    forbids: (landing) =>
      (under("sync-runtime")(landing) && !isContract(landing)) ||
      under("emulator")(landing) ||
      under("demo")(landing)
        ? "the program may import sync-runtime/contract.ts only"
        : undefined,
  },
  {
    name: "the contract imports nothing",
    covers: (file) => file === CONTRACT,
    forbids: () => "the deployment contract must stay dependency-free",
  },
  {
    name: "the runtime image holds no Pulumi, emulator, demo or test code",
    covers: under("sync-runtime"),
    forbids: (landing) =>
      isPulumi(landing) ||
      ["emulator", "demo", "components", "tests"].some((f) => under(f)(landing)) ||
      landing === "index"
        ? "the runtime imports no Pulumi, emulator, demo, program or test code"
        : undefined,
  },
  {
    name: "the emulator is independent of the runtime",
    covers: under("emulator"),
    forbids: (landing) =>
      isPulumi(landing) ||
      ["sync-runtime", "demo", "components", "tests"].some((f) => under(f)(landing))
        ? "the emulator is written from Microsoft's docs and imports no runtime, demo or program code"
        : undefined,
  },
  {
    name: "the demo runs the runtime as a process",
    covers: under("demo"),
    forbids: (landing) =>
      isPulumi(landing) ||
      (under("sync-runtime")(landing) && !isContract(landing)) ||
      under("components")(landing) ||
      under("tests")(landing)
        ? "the demo may use the emulator and the runtime's contract, not runtime or program code"
        : undefined,
  },
  {
    name: "runtime layers depend one way",
    covers: (file) => runtimeLayer(file) !== undefined,
    forbids: (landing, file) => {
      const from = runtimeLayer(file)!;
      const to = runtimeLayer(landing);
      if (to === undefined || LAYERS[from]!.includes(to)) return undefined;
      return `layer ${from} may import ${LAYERS[from]!.join(", ")}, not ${to}`;
    },
  },
];

/** Violations of every rule in the given files (path → source). */
export function violations(files: Iterable<[string, string]>): string[] {
  const found: string[] = [];
  for (const [file, source] of files) {
    for (const specifier of importedSpecifiers(source)) {
      const landing = target(file, specifier);
      for (const rule of RULES) {
        if (!rule.covers(file)) continue;
        const reason = rule.forbids(landing, file);
        if (reason) found.push(`${file} imports ${landing}: ${reason}`);
      }
    }
  }
  return found;
}

function repositoryFiles(): [string, string][] {
  const files = [
    "index.ts",
    ...["components", "sync-runtime", "emulator", "demo"].flatMap(sourceFiles),
  ];
  return files.map((file) => [file, readFileSync(join(root, file), "utf8")]);
}

describe("import boundaries", () => {
  it("finds imports of every form, so the checks below can fail", () => {
    const source = [
      'import a from "./x";',
      'import { b,\n c } from "../y";',
      'export * from "./z";',
      'import "side-effect";',
      'const d = await import("./dyn");',
      'const e = require("cjs");',
    ].join("\n");
    expect(importedSpecifiers(source).sort()).toEqual(
      ["./x", "../y", "./z", "side-effect", "./dyn", "cjs"].sort(),
    );
  });

  it("holds for every source file of the repository", () => {
    expect(violations(repositoryFiles())).toEqual([]);
  });

  it("knows every runtime folder as a layer", () => {
    const layers = new Set(sourceFiles("sync-runtime/src").map((f) => runtimeLayer(f)!));
    expect([...layers].filter((layer) => !(layer in LAYERS))).toEqual([]);
  });

  // Each rule seen failing: one planted import per forbidden crossing, and the allowed ones.
  const planted: [string, string, boolean][] = [
    ["components/x.ts", "../sync-runtime/src/app/config", false],
    ["components/x.ts", "../sync-runtime/contract", true],
    ["index.ts", "./sync-runtime/contract.ts", true],
    ["index.ts", "./emulator/index", false],
    ["components/x.ts", "../demo/azurite", false],
    ["sync-runtime/contract.ts", "node:fs", false],
    ["sync-runtime/src/app/x.ts", "@pulumi/pulumi", false],
    ["sync-runtime/src/app/x.ts", "../../../emulator/index", false],
    ["sync-runtime/scripts/x.ts", "../../demo/azurite", false],
    ["sync-runtime/src/app/x.ts", "../../../components/config", false],
    ["emulator/x.ts", "../sync-runtime/contract", false],
    ["emulator/x.ts", "../sync-runtime/src/domain/records", false],
    ["emulator/x.ts", "../demo/azurite", false],
    ["demo/x.ts", "../emulator/index", true],
    ["demo/x.ts", "../sync-runtime/contract", true],
    ["demo/x.ts", "../sync-runtime/src/app/config", false],
    ["demo/x.ts", "../components/config", false],
    ["sync-runtime/src/core/x.ts", "../domain/records", false],
    ["sync-runtime/src/domain/x.ts", "../core/errors", true],
    ["sync-runtime/src/domain/x.ts", "../storage/keys", false],
    ["sync-runtime/src/domain/x.ts", "../presentation/report/render", false],
    ["sync-runtime/src/clients/x.ts", "../storage/keys", false],
    ["sync-runtime/src/storage/x.ts", "../clients/activity-api", false],
    ["sync-runtime/src/storage/x.ts", "../domain/content", true],
    ["sync-runtime/src/presentation/report/x.ts", "../../app/runtime", false],
    ["sync-runtime/src/presentation/report/x.ts", "../../domain/usage-report", true],
    ["sync-runtime/src/clients/x.ts", "../app/config", false],
    ["sync-runtime/src/app/x.ts", "../commands/run-cli", false],
    ["sync-runtime/src/app/x.ts", "../presentation/report/render", true],
    ["sync-runtime/src/cli.ts", "./commands/run-cli", true],
    ["sync-runtime/src/cli.ts", "./app/runtime", false],
  ];
  it.each(planted)("%s importing %s is allowed: %s", (file, specifier, allowed) => {
    const found = violations([[file, `import x from "${specifier}";`]]);
    expect(found.length === 0, found.join("\n")).toBe(allowed);
  });
});
