// Bundles the sync runtime into one ESM file for the container image (`npm run build:runtime`;
// the Dockerfile runs the same script). Usage: node sync-runtime/build.mjs [outdir]
import { build } from "esbuild";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";

const outdir = process.argv[2] ?? "dist/sync-runtime";
const result = await build({
  entryPoints: ["sync-runtime/src/cli.ts"],
  outfile: join(outdir, "main.mjs"),
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  // Some dependencies are CommonJS and call require(); give the ESM bundle one.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
  minify: true,
  keepNames: true,
  sourcemap: false,
  legalComments: "none",
  metafile: true,
  logLevel: "warning",
});
// What went into the bundle, for the test that keeps Pulumi and emulator code out of the image.
await writeFile(join(outdir, "meta.json"), JSON.stringify(result.metafile));
