/**
 * `npm run bench [-- name...]`: runs every bench/*.bench.ts (or those whose file name contains one
 * of the names), each in its own child process so one bench's heap and peak RSS cannot colour the
 * next, prints one table and writes bench/results.json as the array of BenchResult (a run of some
 * names updates their figures in it). Exits 1 when
 * any figure misses its target, 2 when a bench crashed.
 */
import { spawn } from "node:child_process";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Bench, BenchResult } from "./result";

const HERE = dirname(fileURLToPath(import.meta.url));
const MARK = "BENCH_RESULTS ";

/** Child mode: run one bench module and hand its results to the parent on a marked line. */
async function runOne(file: string): Promise<void> {
  const mod = (await import(pathToFileURL(file).href)) as { default: Bench };
  const results = await mod.default();
  process.stdout.write(`\n${MARK}${JSON.stringify(results)}\n`);
}

function runChild(file: string): Promise<{ results?: BenchResult[]; error?: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", fileURLToPath(import.meta.url), "--one", file],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    let out = "";
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString("utf8");
      // The bench's own progress lines go through; the result line is read, not shown.
      const lines = out.split("\n");
      out = lines.pop() ?? "";
      for (const line of lines) if (!line.startsWith(MARK)) process.stdout.write(`  ${line}\n`);
      const found = lines.find((l) => l.startsWith(MARK));
      if (found) resultLine = found;
    });
    let resultLine: string | undefined;
    child.once("close", (code) => {
      const ms = performance.now() - started;
      if (out.startsWith(MARK)) resultLine = out;
      if (code === 0 && resultLine)
        resolve({ results: JSON.parse(resultLine.slice(MARK.length)) as BenchResult[], ms });
      else resolve({ error: `exited with code ${code}`, ms });
    });
  });
}

function table(results: BenchResult[]): string {
  const rows = results.map((r) => [r.name, String(r.value), r.target, r.ok ? "ok" : "MISSED"]);
  const head = ["figure", "value", "target", ""];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  return [
    line(head),
    `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`,
    ...rows.map(line),
  ].join("\n");
}

async function readStored(): Promise<BenchResult[]> {
  try {
    return JSON.parse(await readFile(join(HERE, "results.json"), "utf8")) as BenchResult[];
  } catch {
    return [];
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === "--one") return runOne(args[1]);
  const files = (await readdir(HERE))
    .filter((f) => f.endsWith(".bench.ts"))
    .filter((f) => args.length === 0 || args.some((a) => f.includes(a)))
    .sort();
  if (files.length === 0) throw new Error(`no bench/*.bench.ts matches ${args.join(", ")}`);
  const all: BenchResult[] = [];
  let crashed = false;
  for (const f of files) {
    process.stdout.write(`${f}\n`);
    const { results, error, ms } = await runChild(join(HERE, f));
    process.stdout.write(`  ${(ms / 1000).toFixed(1)} s${error ? `: FAILED, ${error}` : ""}\n`);
    if (results) all.push(...results);
    else crashed = true;
  }
  process.stdout.write(`\n${table(all)}\n`);
  // A partial run (names given) must not drop the other benches' figures: it replaces only the
  // figures it measured again, by name, and keeps the rest as the last full run left them.
  const stored = args.length === 0 ? [] : await readStored();
  const fresh = new Map(all.map((r) => [r.name, r]));
  const merged = [
    ...stored.map((r) => fresh.get(r.name) ?? r),
    ...all.filter((r) => !stored.some((s) => s.name === r.name)),
  ];
  await writeFile(join(HERE, "results.json"), `${JSON.stringify(merged, null, 2)}\n`);
  process.stdout.write(
    args.length === 0
      ? "wrote bench/results.json\n"
      : `updated ${all.length} figures in bench/results.json\n`,
  );
  if (crashed) process.exit(2);
  if (all.some((r) => !r.ok)) process.exit(1);
}

await main();
