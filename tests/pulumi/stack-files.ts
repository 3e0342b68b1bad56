import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const PROJECT = "coe-audit-sync";

/** The example stacks the repository ships, one per cloud. */
export const STACK_FILES = {
  dev: "Pulumi.dev.yaml",
  gcc: "Pulumi.gcc.yaml",
  gcchigh: "Pulumi.gcchigh.yaml",
  dod: "Pulumi.dod.yaml",
} as const;

function unquote(text: string): string {
  const t = text.trim();
  if ((t.startsWith('"') && t.endsWith('"')) || (t.startsWith("'") && t.endsWith("'"))) {
    return t.slice(1, -1);
  }
  return t;
}

/**
 * Reads a stack file's `config:` map. The example stacks are flat `namespace:key: value`
 * maps; anything else (nested values, secure values) is rejected rather than misread.
 */
export function readStackConfig(file: string): Record<string, string> {
  const text = readFileSync(new URL(file, `file://${REPO_ROOT}`), "utf8");
  const config: Record<string, string> = {};
  let inConfig = false;
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.replace(/\s+#.*$/, "");
    if (line.trim() === "" || line.trim().startsWith("#")) continue;
    if (line === "config:") {
      inConfig = true;
      continue;
    }
    const entry = /^ {2}([A-Za-z0-9-]+:[A-Za-z0-9]+): (.+)$/.exec(line);
    if (!inConfig || !entry || entry[2].trim().startsWith("secure:")) {
      throw new Error(`${file}:${index + 1}: unexpected line for a flat example stack: ${raw}`);
    }
    config[entry[1]] = unquote(entry[2]);
  }
  return config;
}

/** Keys described under `config:` in Pulumi.yaml. */
export function projectConfigKeys(): string[] {
  const text = readFileSync(new URL("Pulumi.yaml", `file://${REPO_ROOT}`), "utf8");
  const section = text.split(/^config:\s*$/m)[1] ?? "";
  return [...section.matchAll(/^ {2}([A-Za-z0-9]+):\s*$/gm)].map((m) => m[1]);
}
