import { existsSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { markdownFiles, read, REPO_ROOT, section, tableCells, topLevelFolders } from "./markdown";

/** The names in the first column of the README's layout table (`a`, `b/` → ["a", "b/"]). */
function layoutNames(readme: string): string[] {
  return section(readme, "Layout")
    .split("\n")
    .map(tableCells)
    .filter((cells): cells is string[] => cells !== undefined)
    .flatMap((cells) => [...cells[0]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!));
}

/** Every file and folder name under a folder, at any depth. */
function namesUnder(folder: string): Set<string> {
  return new Set(
    readdirSync(folder, { withFileTypes: true, recursive: true }).map((e) =>
      e.isDirectory() ? `${e.name}/` : e.name,
    ),
  );
}

/**
 * Rows of any doc's table whose first cell is one folder (`src/app/`), with the file and folder
 * names the row says it holds (`pass.ts`, `http/`) that are not there.
 */
function missingInFolderRows(file: string, text: string): string[] {
  const missing: string[] = [];
  const dir = dirname(join(REPO_ROOT, file));
  for (const line of text.split("\n")) {
    const cells = tableCells(line);
    const folder = /^`([\w./-]+\/)`$/.exec(cells?.[0] ?? "")?.[1];
    if (!cells || !folder) continue;
    const path = [join(dir, folder), join(REPO_ROOT, folder)].find((p) => existsSync(p));
    if (!path) continue;
    const names = namesUnder(path);
    for (const [, name] of cells
      .slice(1)
      .join(" ")
      .matchAll(/`([\w.-]+\.(?:ts|mjs|js|json)|[\w-]+\/)`/g)) {
      if (!names.has(name!)) missing.push(`${file}: ${folder} has no ${name}`);
    }
  }
  return missing;
}

describe("the README's layout table", () => {
  const names = layoutNames(read("README.md"));

  it("names every top-level folder", () => {
    expect(names.length).toBeGreaterThan(5);
    const missing = topLevelFolders().filter((folder) => !names.includes(`${folder}/`));
    expect(missing, "add a row to the README's Layout table").toEqual([]);
  });

  it("names only what exists", () => {
    expect(names.filter((name) => !existsSync(join(REPO_ROOT, name)))).toEqual([]);
  });

  it("fails on a folder it does not name and on a name that does not exist", () => {
    const planted = read("README.md").replace("| `bench/` ", "| `benches/` ");
    expect(layoutNames(planted)).toContain("benches/");
    expect(topLevelFolders().filter((f) => !layoutNames(planted).includes(`${f}/`))).toEqual([
      "bench",
    ]);
  });
});

describe("folder rows of the docs' tables", () => {
  it.each(markdownFiles())("%s: every file a folder row names is in that folder", (file) => {
    expect(missingInFolderRows(file, read(file))).toEqual([]);
  });

  it("fails on a file a folder row names that is not there", () => {
    const planted = "| `src/app/` | `pass.ts` (windows), `no-such-module.ts`, `nowhere/` |";
    expect(missingInFolderRows("sync-runtime/README.md", planted)).toEqual([
      "sync-runtime/README.md: src/app/ has no no-such-module.ts",
      "sync-runtime/README.md: src/app/ has no nowhere/",
    ]);
  });
});
