import { expect, it } from "vitest";
import { runCheck } from "./static-check";

// `npm run lint`: typescript-eslint with type information (eslint.config.js).
it("passes the lint (eslint .)", async () => {
  const { code, output } = await runCheck("eslint/bin/eslint.js", ["."]);
  expect(output).toBe("");
  expect(code).toBe(0);
});
