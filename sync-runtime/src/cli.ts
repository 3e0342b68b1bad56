/**
 * The command-line entry (`npm run sync -- …`, and the container image's entry point once
 * bundled). Everything else lives in commands/run-cli.ts so that it can be tested without a process.
 */
import { runCli } from "./commands/run-cli";

const controller = new AbortController();
const stop = (signal: NodeJS.Signals) => {
  if (controller.signal.aborted) {
    // A second signal means "now": the pass is idempotent, so nothing is lost.
    process.exit(130);
  }
  process.stderr.write(
    JSON.stringify({
      time: new Date().toISOString(),
      level: "info",
      msg: `received ${signal}, stopping`,
    }) + "\n",
  );
  controller.abort(new Error(`received ${signal}`));
  // Bound the graceful stop: blobs in flight finish, but not forever.
  setTimeout(() => process.exit(130), 30_000).unref();
};
process.on("SIGTERM", () => stop("SIGTERM"));
process.on("SIGINT", () => stop("SIGINT"));

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: process.stderr,
  env: process.env,
  signal: controller.signal,
});
