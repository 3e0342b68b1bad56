/**
 * `npm run docs`: rewrites the generated blocks of the documentation from their sources, then
 * formats each file with the repository's Prettier configuration, so that what this writes is
 * byte for byte what is committed (tests/docs/generated.test.ts fails with this command as advice
 * when a block is out of date).
 *
 * - docs/configuration.md, `runtime-variables`: the runtime's environment variables, from
 *   sync-runtime/src/app/config.ts (the same table `npm run sync -- --help` prints).
 * - docs/performance.md, `bench-table`: the figures of the last full `npm run bench`, from
 *   bench/results.json.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as prettier from "prettier";
import { variablesMarkdown } from "../sync-runtime/src/app/config";
import type { BenchResult } from "../bench/result";

export const REPO_ROOT = fileURLToPath(new URL("../", import.meta.url));

/** One generated block: the file (relative to the repository root) and what fills it. */
export interface GeneratedBlock {
  readonly file: string;
  readonly name: string;
  readonly render: () => string;
}

export const BLOCKS: readonly GeneratedBlock[] = [
  { file: "docs/configuration.md", name: "runtime-variables", render: variablesMarkdown },
  { file: "docs/performance.md", name: "bench-table", render: () => benchTable(benchResults()) },
];

/** The files that hold at least one generated block. */
export const GENERATED_FILES = [...new Set(BLOCKS.map((b) => b.file))];

const start = (name: string) => `<!-- generated:${name} (npm run docs) -->`;
const end = (name: string) => `<!-- /generated:${name} -->`;
const blockPattern = (name: string) =>
  new RegExp(`<!-- generated:${name} [^>]*-->([\\s\\S]*?)<!-- /generated:${name} -->`);

/** A block's current content, or undefined when its markers are missing. */
export function blockContent(text: string, name: string): string | undefined {
  return blockPattern(name).exec(text)?.[1].trim();
}

/** The text with the named block replaced by the given content. */
export function withBlock(text: string, name: string, content: string): string {
  if (!blockPattern(name).test(text)) {
    throw new Error(`no ${start(name)} … ${end(name)} markers: add them where the block goes`);
  }
  return text.replace(blockPattern(name), `${start(name)}\n\n${content}\n\n${end(name)}`);
}

export function benchResults(): BenchResult[] {
  return JSON.parse(readFileSync(`${REPO_ROOT}bench/results.json`, "utf8")) as BenchResult[];
}

/** Values as a reader compares them with their target: whole numbers from 100, else 2 decimals. */
function shown(value: number): string {
  return Math.abs(value) >= 100 ? String(Math.round(value)) : String(Number(value.toFixed(2)));
}

export function benchTable(results: readonly BenchResult[]): string {
  const rows = results.map(
    (r) => `| ${r.name} | ${shown(r.value)} | ${r.target} | ${r.ok ? "met" : "**missed**"} |`,
  );
  return ["| figure | value | target | |", "| --- | --- | --- | --- |", ...rows].join("\n");
}

/**
 * What `npm run docs` writes to the file: every block of its text (by default, what the file
 * holds now) regenerated, then formatted.
 */
export async function generatedText(
  file: string,
  text = readFileSync(`${REPO_ROOT}${file}`, "utf8"),
): Promise<string> {
  const path = `${REPO_ROOT}${file}`;
  const filled = BLOCKS.filter((b) => b.file === file).reduce(
    (current, block) => withBlock(current, block.name, block.render()),
    text,
  );
  const options = (await prettier.resolveConfig(path)) ?? {};
  return prettier.format(filled, { ...options, filepath: path });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const file of GENERATED_FILES) {
    writeFileSync(`${REPO_ROOT}${file}`, await generatedText(file));
    console.log(
      `${file}: ${BLOCKS.filter((b) => b.file === file)
        .map((b) => b.name)
        .join(", ")} regenerated`,
    );
  }
}
