/**
 * Readers of the repository's Markdown for the docs tests: which files are docs, their headings'
 * anchors as GitHub renders them, the links and repository paths they name, and their tables.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

export const read = (file: string) => readFileSync(join(REPO_ROOT, file), "utf8");

/** Top-level names .gitignore leaves out (build output, dependencies): never documented paths. */
function ignoredNames(): Set<string> {
  return new Set(
    read(".gitignore")
      .split("\n")
      .map((line) => line.trim().replace(/^\/|\/$/g, ""))
      .filter((line) => /^[\w.-]+$/.test(line)),
  );
}

/** The repository's top-level folders (tracked ones: no dot folders, nothing .gitignore'd). */
export function topLevelFolders(): string[] {
  const ignored = ignoredNames();
  return readdirSync(REPO_ROOT, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith(".") && !ignored.has(e.name))
    .map((e) => e.name)
    .sort();
}

/** Every Markdown doc: the root's *.md, docs/*.md and each top-level folder's README.md. */
export function markdownFiles(): string[] {
  const mdIn = (dir: string) =>
    existsSync(join(REPO_ROOT, dir))
      ? readdirSync(join(REPO_ROOT, dir))
          .filter((name) => name.endsWith(".md"))
          .map((name) => (dir === "." ? name : `${dir}/${name}`))
      : [];
  const readmes = topLevelFolders()
    .map((folder) => `${folder}/README.md`)
    .filter((file) => existsSync(join(REPO_ROOT, file)));
  return [...new Set([...mdIn("."), ...mdIn("docs"), ...readmes])].sort();
}

/** The lines of a Markdown text outside fenced code blocks, with their 1-based numbers. */
export function proseLines(text: string): [number, string][] {
  const lines: [number, string][] = [];
  let fenced = false;
  for (const [index, line] of text.split("\n").entries()) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    else if (!fenced) lines.push([index + 1, line]);
  }
  return lines;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
export function slug(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, "")
    .replace(/ /g, "-");
}

/** The anchors a Markdown text's headings get; a repeated heading gets -1, -2… as on GitHub. */
export function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const found = new Set<string>();
  for (const [, line] of proseLines(text)) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const base = slug(heading);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    found.add(count === 0 ? base : `${base}-${count}`);
  }
  return found;
}

const isFile = (path: string) => existsSync(path) && statSync(path).isFile();

/**
 * What a doc names that does not resolve, one line each (empty when all resolve):
 * - every relative link or image, `[text](target)`, to a file or folder, and its `#anchor`
 *   among the target Markdown file's headings (or its own, for `#anchor` alone);
 * - every repository path it names, in backticks or in prose: a path of two or more segments
 *   whose first segment is a top-level folder (or, in backticks, an entry of the doc's own
 *   folder) must exist, from the doc's folder or from the repository root. Names of blobs,
 *   containers or other places that are not in the repository start elsewhere and are left
 *   alone, and so are globs and placeholders (`*`, `{…}`, `<…>`, `…`).
 */
export function brokenReferences(file: string, text: string): string[] {
  const problems: string[] = [];
  const dir = dirname(join(REPO_ROOT, file));
  const ignored = ignoredNames();
  const folders = topLevelFolders();
  const existsFrom = (path: string) =>
    existsSync(resolve(dir, path)) || existsSync(resolve(REPO_ROOT, path));
  const namesPath = (path: string, inCode: boolean) => {
    const first = path.split("/")[0]!;
    if (ignored.has(first)) return false;
    return folders.includes(first) || (inCode && existsSync(join(dir, first)));
  };
  const prosePath = new RegExp(`(?<![\\w./-])((?:${folders.join("|")})/[\\w./-]*[\\w/])`, "g");

  for (const [lineNo, line] of proseLines(text)) {
    const where = `${file}:${lineNo}`;
    for (const match of line.matchAll(/\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      const target = match[1]!;
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
      const [rawPath, anchor] = target.split("#") as [string, string | undefined];
      const path = decodeURIComponent(rawPath);
      const absolute = path === "" ? join(REPO_ROOT, file) : resolve(dir, path);
      if (!existsSync(absolute)) {
        problems.push(
          `${where}: link to ${target}: ${relative(REPO_ROOT, absolute)} does not exist`,
        );
        continue;
      }
      if (anchor !== undefined && absolute.endsWith(".md") && isFile(absolute)) {
        const headings = anchors(path === "" ? text : readFileSync(absolute, "utf8"));
        if (!headings.has(anchor)) {
          problems.push(`${where}: link to ${target}: no heading with anchor #${anchor}`);
        }
      }
    }
    const codeSpans = [...line.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    for (const span of codeSpans) {
      if (!/^[\w.-]+(\/[\w.-]+)+\/?$/.test(span) || span.startsWith(".")) continue;
      if (namesPath(span, true) && !existsFrom(span)) {
        problems.push(`${where}: path \`${span}\` does not exist`);
      }
    }
    const prose = line.replace(/`[^`]*`/g, " ").replace(/\]\([^)]*\)/g, "] ");
    for (const match of prose.matchAll(prosePath)) {
      const path = match[1]!;
      if (namesPath(path, false) && !existsFrom(path)) {
        problems.push(`${where}: path ${path} does not exist`);
      }
    }
  }
  return problems;
}

/** The cells of a Markdown table row, or undefined when the line is not one. */
export function tableCells(line: string): string[] | undefined {
  if (!/^\s*\|.*\|\s*$/.test(line)) return undefined;
  return line
    .trim()
    .slice(1, -1)
    .split(/(?<!\\)\|/)
    .map((cell) => cell.trim());
}

/** The lines of a section (a heading's text up to the next heading of the same or higher level). */
export function section(text: string, heading: string): string {
  const lines = text.split("\n");
  const start = lines.findIndex(
    (line) => line.replace(/^#+\s+/, "") === heading && /^#+\s/.test(line),
  );
  if (start < 0) return "";
  const level = /^#+/.exec(lines[start]!)![0].length;
  const end = lines.findIndex(
    (line, i) => i > start && /^#+\s/.test(line) && /^#+/.exec(line)![0].length <= level,
  );
  return lines.slice(start + 1, end < 0 ? undefined : end).join("\n");
}

/** Project config keys of Pulumi.yaml with their defaults ("" when it has none). */
export function pulumiConfigDefaults(pulumiYaml: string): Map<string, string> {
  const config = pulumiYaml.split(/^config:\s*$/m)[1] ?? "";
  const keys = new Map<string, string>();
  for (const m of config.matchAll(/^ {2}([A-Za-z0-9]+):\s*\n((?: {4}.*\n?)*)/gm)) {
    const raw = /^ {4}default:\s*(.*)$/m.exec(m[2]!)?.[1]!.trim() ?? "";
    keys.set(m[1]!, raw.replace(/^"(.*)"$/, "$1"));
  }
  return keys;
}

/** Rows of a table whose first cell is one backticked key: key -> the row's cells. */
export function keyedRows(text: string): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  for (const line of text.split("\n")) {
    const cells = tableCells(line);
    const key = /^`([^`]+)`$/.exec(cells?.[0] ?? "")?.[1];
    if (key && cells) rows.set(key, cells);
  }
  return rows;
}

/** Every TypeScript and JavaScript source file of the repository (top-level folders and root). */
export function sourceFiles(): string[] {
  const isSource = (name: string) => /\.(ts|mts|cts|mjs|js)$/.test(name);
  const root = readdirSync(REPO_ROOT).filter((name) => isSource(name));
  const nested = topLevelFolders().flatMap((folder) =>
    readdirSync(join(REPO_ROOT, folder), { withFileTypes: true, recursive: true })
      .filter((e) => e.isFile() && isSource(e.name))
      .map((e) => relative(REPO_ROOT, join(e.parentPath, e.name))),
  );
  return [...root, ...nested].sort();
}

/**
 * Repository paths named in a source file's comments that do not exist (a module may be named
 * without its extension, as imports name it). Only comment lines are read: tests plant made-up
 * paths in strings on purpose.
 */
export function brokenCommentPaths(file: string, text: string): string[] {
  const folders = topLevelFolders();
  const path = new RegExp(`(?<![\\w./-])((?:${folders.join("|")})/[\\w./-]*[\\w/])`, "g");
  const problems: string[] = [];
  for (const [index, line] of text.split("\n").entries()) {
    if (!/^\s*(\/\/|\/\*|\*)/.test(line)) continue;
    for (const match of line.matchAll(path)) {
      const named = join(REPO_ROOT, match[1]!);
      if (![named, `${named}.ts`].some((p) => existsSync(p))) {
        problems.push(`${file}:${index + 1}: ${match[1]} does not exist`);
      }
    }
  }
  return problems;
}
