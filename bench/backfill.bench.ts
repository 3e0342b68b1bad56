/**
 * Issue 12, "backfill at the quota": a first `once` pass over the API's whole 7 days against the
 * emulator (real clock, 200-300 ms latency per call, the default quota of 2,000/min per
 * PublisherIdentifier) and Azurite, the runtime a child process at its default settings, so its
 * wall time includes real startup. A blob every 3 minutes gives ~3,400 blobs in ~25 pages: about
 * 1.9 minutes at the runtime's 1,800 requests/min.
 *
 * The quota-bound minimum is counted from the emulator's side in the same run: the pages and
 * blobs one complete listing of each of the pass's windows holds, plus the pass's one subscription
 * list, at AUDIT_RATE_LIMIT_PER_MINUTE. The subscription is started beforehand, as the demo does.
 */
import { startEmulator, POWER_APPS_CONTENT_TYPE } from "../emulator/index";
import { startAzurite } from "../demo/azurite";
import { RuntimeCli } from "../demo/runtime-cli";
import { runtimeEnvFor } from "../demo/runtime-env";
import { MAX_WINDOW_MS } from "../sync-runtime/src/domain/windows";
import { atMost, type Bench } from "./result";

const RATE_PER_MINUTE = 1800;
const BLOB_INTERVAL_MINUTES = 3;
const PAGE_SIZE = 200;

interface PassResult {
  contentType: string;
  from: string;
  to: string;
  blobsListed: number;
  blobsProcessed: number;
}

const bench: Bench = async () => {
  const azurite = await startAzurite();
  const emu = await startEmulator({
    seed: "backfill-bench",
    latencyMs: [200, 300],
    pageSize: PAGE_SIZE,
    content: { blobIntervalMinutes: BLOB_INTERVAL_MINUTES },
  });
  const cli = new RuntimeCli({
    env: {
      ...(runtimeEnvFor(emu) as Record<string, string>),
      AUDIT_STORAGE_CONNECTION_STRING: azurite.connectionString,
      AUDIT_RATE_LIMIT_PER_MINUTE: String(RATE_PER_MINUTE),
      // A first pass over the API's whole 7 days (the plan clamps it to the oldest allowed time).
      AUDIT_FIRST_RUN_HOURS: "168",
      AUDIT_LOG_LEVEL: "warn",
      ...(process.env.BENCH_BLOB_CONCURRENCY
        ? { AUDIT_BLOB_CONCURRENCY: process.env.BENCH_BLOB_CONCURRENCY }
        : {}),
    },
    showStderr: false,
  });
  const say = (line: string) => process.stdout.write(`${line}\n`);
  try {
    await cli.runOk(["subscription", "start"]);
    const before = emu.stats();
    const started = performance.now();
    const ticker = setInterval(() => {
      const s = emu.stats();
      const secs = (performance.now() - started) / 1000;
      say(
        `backfill ${secs.toFixed(0)} s: ${s.requests - before.requests} requests (${s.listings - before.listings} pages, ${s.blobsServed - before.blobsServed} blobs), ${s.throttled - before.throttled} throttled, ${(((s.requests - before.requests) / secs) * 60).toFixed(0)}/min`,
      );
    }, 10_000);
    let stdout: string;
    try {
      stdout = await cli.runOk(["once"]);
    } finally {
      clearInterval(ticker);
    }
    const wallMs = performance.now() - started;
    const after = emu.stats();
    const [result] = (JSON.parse(stdout) as PassResult[]).filter(
      (r) => r.contentType === POWER_APPS_CONTENT_TYPE,
    );

    // What the pass had to ask for: each of its 24-hour windows listed once, every blob once.
    let pages = 0;
    let blobs = 0;
    const [from, to] = [Date.parse(result.from), Date.parse(result.to)];
    for (let start = from; start < to; start += MAX_WINDOW_MS) {
      const end = Math.min(start + MAX_WINDOW_MS, to);
      const w = emu.listable(POWER_APPS_CONTENT_TYPE, new Date(start), new Date(end));
      pages += w.pages;
      blobs += w.blobs;
    }
    const needed = pages + blobs + 1;
    const minimumMs = (needed / RATE_PER_MINUTE) * 60_000;
    const requests = after.requests - before.requests;
    const throttled = after.throttled - before.throttled;
    say(
      `backfill: ${(wallMs / 1000).toFixed(1)} s for ${requests} requests (${after.listings - before.listings} pages, ${after.blobsServed - before.blobsServed} blobs, ${throttled} throttled); needed ${needed} (${pages} pages, ${blobs} blobs, 1 subscription list): minimum ${(minimumMs / 1000).toFixed(1)} s at ${RATE_PER_MINUTE}/min; the runtime listed ${result.blobsListed} and processed ${result.blobsProcessed}`,
    );
    if (result.blobsProcessed < blobs * 0.99)
      throw new Error(`the pass processed ${result.blobsProcessed} of ${blobs} blobs`);
    return [
      atMost("backfill wall time / quota-bound minimum", wallMs / minimumMs, 1.15),
      atMost("backfill API requests / minimum", requests / needed, 1.05),
      atMost("backfill self-caused throttles", throttled, 0),
    ];
  } finally {
    await cli.stopAll();
    await emu.stop();
    await azurite.stop();
  }
};

export default bench;
