/**
 * Readers of the README's reference sections, for the docs tests: the generated variables block
 * comes from sync-runtime/scripts/readme-variables.ts (`npm run docs`); the stack keys table is
 * checked against Pulumi.yaml (every key, with its default).
 */
import { fileURLToPath } from "node:url";

export const README_PATH = fileURLToPath(new URL("../../README.md", import.meta.url));
export const PULUMI_YAML_PATH = fileURLToPath(new URL("../../Pulumi.yaml", import.meta.url));

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
