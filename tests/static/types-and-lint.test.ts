import { beforeAll, expect, it } from "vitest";
import { runCheck } from "./static-check";

/**
 * `npm run typecheck` and `npm run lint` in one child process that builds the TypeScript program
 * once for both (types-and-lint.ts).
 */
let report: { typeReport: string; lintReport: string; problems: number };
beforeAll(async () => {
  const { code, output } = await runCheck("tsx/dist/cli.mjs", ["tests/static/types-and-lint.ts"]);
  expect(code, output).toBe(0);
  report = JSON.parse(output) as typeof report;
});

it("type-checks (tsc --noEmit -p tsconfig.json)", () => {
  expect(report.typeReport).toBe("");
});

it("passes the lint (eslint .)", () => {
  expect(report.lintReport).toBe("");
  expect(report.problems).toBe(0);
});
