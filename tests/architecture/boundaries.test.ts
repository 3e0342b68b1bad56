import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * The layout's import boundaries, checked on every source file: the Pulumi program builds the
 * runtime image but never imports its code; the runtime image stays small (no Pulumi, no
 * emulator); the emulator is written from the API docs, so it and the runtime cannot share a
 * mistake.
 */
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

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

/** Where an import lands: a top-level folder of this repository, or the package it names. */
function target(file: string, specifier: string): string {
  if (!specifier.startsWith(".")) return specifier;
  const resolved = relative(root, resolve(root, dirname(file), specifier));
  return resolved.startsWith("..") ? resolved : `./${resolved}`;
}

function violations(dirs: string[], forbidden: (target: string) => boolean): string[] {
  return dirs.flatMap((dir) =>
    (dir.endsWith(".ts") ? [dir] : sourceFiles(dir)).flatMap((file) =>
      importedSpecifiers(readFileSync(join(root, file), "utf8"))
        .map((specifier) => target(file, specifier))
        .filter(forbidden)
        .map((landing) => `${file} imports ${landing}`),
    ),
  );
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

  it("keeps the Pulumi program away from the runtime's and the emulator's code", () => {
    const bad = (landing: string) =>
      landing.startsWith("./sync-runtime") || landing.startsWith("./emulator");
    expect(violations(["index.ts", "components"], bad)).toEqual([]);
  });

  it("keeps Pulumi and the emulator out of the runtime image", () => {
    const bad = (landing: string) =>
      landing.startsWith("@pulumi/") ||
      landing.startsWith("@pulumiverse/") ||
      landing.startsWith("./emulator") ||
      landing.startsWith("./components") ||
      landing.startsWith("./tests");
    expect(violations(["sync-runtime"], bad)).toEqual([]);
  });

  it("keeps the emulator independent of the runtime it is used to test", () => {
    const bad = (landing: string) =>
      landing.startsWith("./sync-runtime") || landing.startsWith("@pulumi/");
    expect(violations(["emulator"], bad)).toEqual([]);
  });
});
