/**
 * The type-check and the lint in one process, sharing one TypeScript program: what
 * `npm run typecheck` (tsc --noEmit -p tsconfig.json) and `npm run lint` (eslint .) report, for
 * the `static` test project. typescript-eslint's typed rules need the same program tsc builds
 * (parserOptions.programs), and building it twice, with its 750,000 lines of SDK declarations,
 * was a third of their time. Prints both reports and the lint's count of problems as one JSON
 * object on stdout, for types-and-lint.test.ts to check.
 */
import { ESLint } from "eslint";
import ts from "typescript";
import { REPO_ROOT } from "./static-check";

const configPath = ts.findConfigFile(REPO_ROOT, (f) => ts.sys.fileExists(f), "tsconfig.json")!;
const { config } = ts.readConfigFile(configPath, (f) => ts.sys.readFile(f));
const parsed = ts.parseJsonConfigFileContent(config, ts.sys, REPO_ROOT);
const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options });

const diagnostics = ts.getPreEmitDiagnostics(program);
const typeReport = ts.formatDiagnostics(diagnostics, {
  getCanonicalFileName: (f) => f,
  getCurrentDirectory: () => REPO_ROOT,
  getNewLine: () => "\n",
});

const eslint = new ESLint({
  cwd: REPO_ROOT,
  overrideConfig: {
    languageOptions: { parserOptions: { projectService: false, programs: [program] } },
  },
});
const results = await eslint.lintFiles(["."]);
const lintReport = await (await eslint.loadFormatter("stylish")).format(results);
const problems = results.reduce((n, r) => n + r.errorCount + r.warningCount + r.fatalErrorCount, 0);

process.stdout.write(JSON.stringify({ typeReport, lintReport, problems }));
