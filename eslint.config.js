// Typed linting (typescript-eslint) of the TypeScript sources, for what the compiler does not
// catch: promises nobody awaits or handles, and promises passed where a plain value or a
// void callback is expected (an `if (promise)` that is always true, an async event handler
// whose rejection nobody sees). Scoped to the project's own files; node_modules, dist and out
// are never read.
import { defineConfig } from "eslint/config";
import tseslint from "typescript-eslint";

export default defineConfig(
  { ignores: ["node_modules/", "dist/", "out/", "**/*.js", "**/*.mjs"] },
  {
    files: ["**/*.ts"],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    plugins: { "@typescript-eslint": tseslint.plugin },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/await-thenable": "error",
    },
  },
);
