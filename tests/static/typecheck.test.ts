import { expect, it } from "vitest";
import { runCheck } from "./static-check";

// `npm run typecheck`: the whole project, strict, against the real SDK types.
it("type-checks (tsc --noEmit -p tsconfig.json)", async () => {
  const { code, output } = await runCheck("typescript/bin/tsc", [
    "--noEmit",
    "-p",
    "tsconfig.json",
  ]);
  expect(output).toBe("");
  expect(code).toBe(0);
});
