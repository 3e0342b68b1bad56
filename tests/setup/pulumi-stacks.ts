/**
 * Setup of the `pulumi` project (vitest.config.ts). Every resource the program declares captures
 * two stack traces inside @pulumi/pulumi (`Resource.callsites`, with no depth limit, for its
 * source position; `debuggablePromise`, for leak reports). Under vitest each one goes through the
 * module runner's source-map support, which maps every frame, and that was a quarter of the
 * Pulumi tests' CPU time. Traces taken by Pulumi itself are formatted as V8 formats them, without
 * that mapping, and only their first frames (the caller Pulumi records is the fifth): positions
 * the mocks never read. Every other trace (a failing test's) is mapped as before.
 */
const mapped = Error.prepareStackTrace;
const PULUMI_FRAMES = 12;

function fromPulumi(frames: NodeJS.CallSite[]): boolean {
  const file = frames[0]?.getFileName() ?? "";
  return file.includes("/@pulumi/pulumi/");
}

if (mapped) {
  Error.prepareStackTrace = (error, frames) =>
    fromPulumi(frames)
      ? `${String(error)}\n${frames
          .slice(0, PULUMI_FRAMES)
          .map((f) => `    at ${String(f)}`)
          .join("\n")}`
      : mapped(error, frames);
}
