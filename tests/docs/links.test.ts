import { describe, expect, it } from "vitest";
import {
  anchors,
  brokenCommentPaths,
  brokenReferences,
  markdownFiles,
  read,
  slug,
  sourceFiles,
} from "./markdown";

describe("links and paths in the docs", () => {
  it("covers the README, CONTRIBUTING, docs/ and every folder's README", () => {
    expect(markdownFiles()).toEqual(
      expect.arrayContaining([
        "README.md",
        "CONTRIBUTING.md",
        "docs/deploy.md",
        "docs/configuration.md",
        "docs/operations.md",
        "docs/troubleshooting.md",
        "docs/coe-starter-kit.md",
        "docs/reliability.md",
        "docs/performance.md",
        "sync-runtime/README.md",
        "emulator/README.md",
        "demo/README.md",
        "policy/README.md",
      ]),
    );
  });

  it.each(markdownFiles())(
    "%s: every relative link, anchor and repository path resolves",
    (file) => {
      expect(brokenReferences(file, read(file))).toEqual([]);
    },
  );

  it("anchors headings as GitHub does", () => {
    expect(slug("Metrics (`/metrics`)")).toBe("metrics-metrics");
    expect(slug("Switching from the flows (the Dataverse sink)")).toBe(
      "switching-from-the-flows-the-dataverse-sink",
    );
    expect(slug("Dataverse sink (the CoE Starter Kit's tables)")).toBe(
      "dataverse-sink-the-coe-starter-kits-tables",
    );
    expect([...anchors("# A\n\n```sh\n# not a heading\n```\n## A\n### B.c\n")]).toEqual([
      "a",
      "a-1",
      "bc",
    ]);
  });

  it("finds planted broken links, anchors and paths (so the checks above can fail)", () => {
    const good = read("docs/operations.md");
    const planted = [
      good,
      "## Planted heading",
      "[an anchor of the text itself, not of the file on disk](#planted-heading)",
      "[gone](no-such-file.md)",
      "[no heading here](#no-such-heading)",
      "[no heading there](deploy.md#no-such-heading)",
      "[a folder that is not there](../no-such-folder/)",
      "The report contract is `sync-runtime/src/report/usage-report.ts`.",
      "As sync-runtime/src/report/usage-report.ts says.",
      "```sh\n[inside a code block](ignored.md) `sync-runtime/ignored.ts`\n```",
      "Blob names are not paths: `latest/usage-report.html`, `leases/sync-pass.lock`, `out/`.",
      "Links out are not checked: [Learn](https://learn.microsoft.com/no-such-page).",
    ].join("\n\n");
    const problems = brokenReferences("docs/operations.md", planted);
    expect(problems).toHaveLength(6);
    expect(problems.join("\n")).toMatch(/no-such-file\.md/);
    expect(problems.join("\n")).toMatch(/#no-such-heading[\s\S]*deploy\.md#no-such-heading/);
    expect(problems.join("\n")).toMatch(/no-such-folder/);
    expect(problems.filter((p) => p.includes("src/report/usage-report.ts"))).toHaveLength(2);
  });
});

describe("paths in source comments", () => {
  it("every repository path a comment names exists", () => {
    const files = sourceFiles();
    expect(files).toEqual(expect.arrayContaining(["index.ts", "sync-runtime/src/cli.ts"]));
    expect(files.flatMap((file) => brokenCommentPaths(file, read(file)))).toEqual([]);
  });

  it("finds a planted stale path in a comment, not in code", () => {
    const planted = [
      "/**",
      " * The semantics are sync-runtime/src/report/usage-report.ts's; see sync-runtime/contract.",
      " */",
      "// As tests/docs/no-such-helper.ts does.",
      'const fixture = "sync-runtime/src/app/x.ts";',
    ].join("\n");
    expect(brokenCommentPaths("x.ts", planted)).toEqual([
      "x.ts:2: sync-runtime/src/report/usage-report.ts does not exist",
      "x.ts:4: tests/docs/no-such-helper.ts does not exist",
    ]);
  });
});
