/**
 * Issue 12, "bounded memory": one `once` pass over a day whose content blobs include several of
 * 100 MB, run as the container runs it (the esbuild bundle, `node main.mjs once`, default
 * settings) against the emulator (in this process) and Azurite. The figure is the peak RSS of the
 * runtime's process alone (VmHWM, polled from /proc, and the child's own maxRSS when it exits);
 * the emulator generating the bodies and Azurite storing the archives are other processes. It is
 * measured at the default blob concurrency and at 16, since a higher concurrency must not buy
 * memory either. A pass counts only if it stored everything: every record served counted, every
 * blob served archived, the big ones among them.
 *
 *   npm run bench -- bigblob
 */
import { execFile, spawn } from "node:child_process";
import { readFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { BlobServiceClient } from "@azure/storage-blob";
import { startAzurite, type RunningAzurite } from "../demo/azurite";
import { REPO_ROOT } from "../demo/runtime-cli";
import { runtimeEnvFor } from "../demo/runtime-env";
import { POWER_APPS_CONTENT_TYPE, startEmulator } from "../emulator/index";
import { CONTAINERS } from "../sync-runtime/contract";
import { VARIABLES } from "../sync-runtime/src/app/config";
import { atMost, type Bench } from "./result";

const run = promisify(execFile);
const MiB = 1024 * 1024;
const BIG_BYTES = 100 * 1000 * 1000;
/** Archives above this are of big blobs (a normal blob's archive is a few KB). */
const BIG_ARCHIVE_BYTES = 1 * MiB;

interface Pass {
  concurrency: string;
  peakRssMiB: number;
  seconds: number;
  records: number;
  blobs: number;
  bigBlobs: number;
}

/** Peak RSS of a running process as the kernel keeps it (VmHWM), in MiB; 0 once it is gone. */
async function vmHwmMiB(pid: number): Promise<number> {
  try {
    const status = await readFile(`/proc/${pid}/status`, "utf8");
    const kb = /^VmHWM:\s+(\d+) kB/m.exec(status)?.[1];
    return kb ? Number(kb) / 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * Runs the bundle with `args` in the given environment; resolves with its stdout and the highest
 * peak RSS seen (polled every 50 ms; the child also reports its own maxRSS on exit, through
 * --import of a one-line hook, so the last moments before exit are not missed).
 */
async function runBundle(
  bundle: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ stdout: string; peakRssMiB: number }> {
  const child = spawn(process.execPath, [bundle, ...args], {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
  let peak = 0;
  const poll = setInterval(() => {
    void vmHwmMiB(child.pid!).then((m) => (peak = Math.max(peak, m)));
  }, 50);
  const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
  clearInterval(poll);
  if (code !== 0)
    throw new Error(
      `${args.join(" ")} exited with ${code}: ${stderr
        .split("\n")
        .filter((l) => !l.includes('"warn"'))
        .join("\n")
        .slice(-3000)}`,
    );
  return { stdout, peakRssMiB: peak };
}

async function pass(
  bundle: string,
  concurrency: string | undefined,
  day: { from: Date; to: Date },
): Promise<Pass> {
  const [emu, azurite] = await Promise.all([
    startEmulator({
      seed: "bigblob",
      tenant: {
        days: 1,
        futureDays: 0,
        apps: 10,
        users: 100,
        launchesPerDay: 3000,
        deletes: 1,
        unparsedShare: 0,
      },
      content: {
        blobIntervalMinutes: 60,
        bigBlobShare: 0.2,
        bigBlobBytes: [BIG_BYTES, BIG_BYTES],
        lateAvailabilityShare: 0,
        lateListingShare: 0,
      },
    }),
    startAzurite(),
  ]);
  try {
    const env: Record<string, string> = {
      ...(runtimeEnvFor(emu) as Record<string, string>),
      AUDIT_STORAGE_CONNECTION_STRING: azurite.connectionString,
      ...(concurrency ? { AUDIT_BLOB_CONCURRENCY: concurrency } : {}),
    };
    await runBundle(bundle, ["subscription", "start"], env);
    const started = performance.now();
    const { stdout, peakRssMiB } = await runBundle(
      bundle,
      ["once", "--from", day.from.toISOString(), "--to", day.to.toISOString()],
      env,
    );
    const seconds = (performance.now() - started) / 1000;
    const [result] = JSON.parse(stdout) as Array<{ records: number; blobsProcessed: number }>;
    const stats = emu.stats();
    const { blobs, bigBlobs, largestMiB } = await archived(azurite);
    // The figure means something only if the pass stored everything it was served.
    if (result.records !== stats.recordsServed)
      throw new Error(`counted ${result.records} records of ${stats.recordsServed} served`);
    if (result.blobsProcessed !== stats.blobsServed || blobs !== stats.blobsServed)
      throw new Error(
        `${stats.blobsServed} blobs served, ${result.blobsProcessed} processed, ${blobs} archived`,
      );
    if (bigBlobs < 4) throw new Error(`only ${bigBlobs} big blobs in the pass`);
    const label =
      concurrency ??
      `${VARIABLES.find((v) => v.name === "AUDIT_BLOB_CONCURRENCY")?.default} (default)`;
    process.stderr.write(
      `concurrency ${label}: ${blobs} blobs (${bigBlobs} of 100 MB, archived in up to ${largestMiB.toFixed(1)} MiB of gzip), ${result.records} records in ${seconds.toFixed(1)} s, peak RSS ${peakRssMiB.toFixed(0)} MiB\n`,
    );
    return { concurrency: label, peakRssMiB, seconds, records: result.records, blobs, bigBlobs };
  } finally {
    await Promise.all([emu.stop(), azurite.stop()]);
  }
}

/** Archive blobs in the raw container, and how many of them are big blobs' archives. */
async function archived(
  azurite: RunningAzurite,
): Promise<{ blobs: number; bigBlobs: number; largestMiB: number }> {
  const container = BlobServiceClient.fromConnectionString(
    azurite.connectionString,
  ).getContainerClient(CONTAINERS.rawArchive);
  let blobs = 0;
  let bigBlobs = 0;
  let largest = 0;
  for await (const b of container.listBlobsFlat({ prefix: `${POWER_APPS_CONTENT_TYPE}/` })) {
    blobs++;
    const size = b.properties.contentLength ?? 0;
    if (size > BIG_ARCHIVE_BYTES) bigBlobs++;
    largest = Math.max(largest, size);
  }
  return { blobs, bigBlobs, largestMiB: largest / MiB };
}

const bench: Bench = async () => {
  const dir = await mkdtemp(join(tmpdir(), "bigblob-bench-"));
  try {
    await run(process.execPath, [join(REPO_ROOT, "sync-runtime/build.mjs"), dir], {
      cwd: REPO_ROOT,
    });
    const bundle = join(dir, "main.mjs");
    // The whole history of the emulator's one day, and a little more on either side.
    const now = Date.now();
    const day = { from: new Date(now - 30 * 3_600_000), to: new Date(now) };
    const passes = [await pass(bundle, undefined, day), await pass(bundle, "16", day)];
    const worst = Math.max(...passes.map((p) => p.peakRssMiB));
    return [atMost("pass peak RSS with 100 MB blobs (MiB)", worst, 256)];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
};

export default bench;

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  for (const r of await bench()) console.log(JSON.stringify(r));
}
