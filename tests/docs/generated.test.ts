import { describe, expect, it } from "vitest";
import { VARIABLES } from "../../sync-runtime/src/app/config";
import {
  benchResults,
  blockContent,
  BLOCKS,
  GENERATED_FILES,
  generatedText,
  withBlock,
} from "../../scripts/docs";
import { read, tableCells } from "./markdown";

describe.each(GENERATED_FILES)("%s", (file) => {
  it("is what `npm run docs` writes (its generated tables are up to date)", async () => {
    expect(
      read(file) === (await generatedText(file)),
      `${file} is out of date: run npm run docs`,
    ).toBe(true);
  });
});

describe("the generated tables", () => {
  const block = (name: string) => {
    const { file } = BLOCKS.find((b) => b.name === name)!;
    return blockContent(read(file), name) ?? "";
  };

  it("list every runtime variable", () => {
    expect(VARIABLES.length).toBeGreaterThan(20);
    for (const v of VARIABLES) expect(block("runtime-variables")).toContain(`\`${v.name}\``);
  });

  it("list every figure of bench/results.json with its target", () => {
    const results = benchResults();
    expect(results.length).toBeGreaterThan(5);
    const rows = block("bench-table")
      .split("\n")
      .map((line) => tableCells(line) ?? []);
    for (const r of results) {
      expect(rows.find((cells) => cells[0] === r.name)?.[2], r.name).toBe(r.target);
    }
  });

  it("are told apart from a stale copy", async () => {
    const file = "docs/performance.md";
    const fresh = read(file);
    const stale = fresh.replace(/\| met +\|/, "| missed |");
    expect(stale).not.toBe(fresh);
    expect(await generatedText(file, stale)).toBe(fresh);
    expect(stale === (await generatedText(file, stale))).toBe(false);
  });

  it("need their markers, and say where they go", () => {
    expect(() => withBlock("# No markers\n", "bench-table", "x")).toThrow(/generated:bench-table/);
  });
});
