/**
 * Keeps README.md's configuration reference in step with its sources, so it cannot drift:
 * - the runtime variables table is generated from sync-runtime/src/config.ts (the same table
 *   `npm run sync -- --help` and sync-runtime/README.md come from);
 * - the stack keys table is checked against Pulumi.yaml (every key, with its default).
 * `npx tsx tests/readme/readme-reference.ts` rewrites the generated block in README.md.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { variablesMarkdown } from "../../sync-runtime/src/config";

export const README_PATH = fileURLToPath(new URL("../../README.md", import.meta.url));
export const PULUMI_YAML_PATH = fileURLToPath(new URL("../../Pulumi.yaml", import.meta.url));

export const START =
  "<!-- runtime-variables:start (generated from sync-runtime/src/config.ts by tests/readme/readme-reference.ts) -->";
export const END = "<!-- runtime-variables:end -->";
const BLOCK = /<!-- runtime-variables:start[^>]*-->([\s\S]*?)<!-- runtime-variables:end -->/;

/** The README's generated block, or undefined when the markers are missing. */
export function runtimeVariablesBlock(readme: string): string | undefined {
  return BLOCK.exec(readme)?.[1].trim();
}

/** README text with the generated block replaced by the current table. */
export function withRuntimeVariables(readme: string): string {
  if (!BLOCK.test(readme))
    throw new Error(`README.md has no ${END.replace("end", "start/end")} markers`);
  return readme.replace(BLOCK, `${START}\n\n${variablesMarkdown()}\n\n${END}`);
}

/** Prettier pads Markdown tables; compare cell contents, not alignment. */
export function normaliseTable(text: string): string {
  return text
    .trim()
    .split("\n")
    .map((line) =>
      line
        .split(/(?<!\\)\|/)
        .map((cell) => cell.trim())
        .map((cell) => (/^-+$/.test(cell) ? "---" : cell))
        .join("|"),
    )
    .join("\n");
}

/** Project config keys of Pulumi.yaml with their defaults ("" when it has none). */
export function pulumiConfigDefaults(pulumiYaml: string): Map<string, string> {
  const section = pulumiYaml.split(/^config:\s*$/m)[1] ?? "";
  const keys = new Map<string, string>();
  for (const m of section.matchAll(/^ {2}([A-Za-z0-9]+):\s*\n((?: {4}.*\n?)*)/gm)) {
    const raw = /^ {4}default:\s*(.*)$/m.exec(m[2])?.[1].trim() ?? "";
    keys.set(m[1], raw.replace(/^"(.*)"$/, "$1"));
  }
  return keys;
}

/** Rows of the README's stack configuration table: key -> default cell. */
export function stackTableDefaults(readme: string): Map<string, string> {
  const section = readme.split(/^## Stack configuration reference\s*$/m)[1]?.split(/^## /m)[0];
  const rows = new Map<string, string>();
  for (const line of (section ?? "").split("\n")) {
    const cells = line.split("|").map((c) => c.trim());
    const key = /^`([^`]+)`$/.exec(cells[1] ?? "")?.[1];
    if (key) rows.set(key, cells[2]);
  }
  return rows;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(README_PATH, withRuntimeVariables(readFileSync(README_PATH, "utf8")));
  console.log("README.md: runtime variables regenerated; run npx prettier --write README.md");
}
