import { expect, it } from "vitest";
import { runCheck } from "./static-check";

// `npm run format:check`: every file as Prettier writes it (.prettierrc, .prettierignore).
it("is formatted (prettier --check .)", async () => {
  const { code, output } = await runCheck("prettier/bin/prettier.cjs", ["--check", "."]);
  expect(code, output).toBe(0);
});
