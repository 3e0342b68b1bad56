/**
 * Azurite, Azure Storage's own emulator, as a child process for the demo and the integration
 * tests. Not part of the emulator/ folder, which stands in for Microsoft 365's services only.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface AzuriteOptions {
  /** Workspace folder for Azurite's data. Default: a fresh temp dir, removed by stop(). */
  location?: string;
  /** Milliseconds to wait for both services to answer. Default 30000. */
  startTimeoutMs?: number;
}

export interface RunningAzurite {
  connectionString: string;
  blobEndpoint: string;
  tableEndpoint: string;
  /** The workspace folder in use. */
  location: string;
  stop(): Promise<void>;
}

/** Azurite's well-known development account (public, documented by Microsoft). */
export const DEV_ACCOUNT = "devstoreaccount1";
export const DEV_ACCOUNT_KEY =
  "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/*
 * The child runs Azurite behind this tiny wrapper so that it dies with its parent even when the
 * parent is killed hard: the parent holds the write end of stdin, and the OS closes it on exit.
 */
const WRAPPER = [
  "const stop = () => { process.kill(process.pid, 'SIGTERM'); setTimeout(() => process.exit(0), 3000).unref(); };",
  "process.stdin.on('end', stop); process.stdin.on('error', stop); process.stdin.resume();",
  // An open stdin keeps the event loop alive; let go of it once Azurite is shutting down.
  "process.once('SIGTERM', () => process.stdin.destroy());",
  "require(process.argv[1]);",
].join("\n");

const LISTENING = /Azurite (Blob|Queue|Table) service is successfully listening at (http:\/\/\S+)/;

/**
 * Starts Azurite as a child process on free loopback ports (port 0; the real ports are read from
 * its startup output, so there is no race for a port) and waits until blob and table answer.
 */
export async function startAzurite(options: AzuriteOptions = {}): Promise<RunningAzurite> {
  const ownsLocation = options.location === undefined;
  const location = options.location ?? (await mkdtemp(join(tmpdir(), "azurite-")));
  const bin = createRequire(import.meta.url).resolve("azurite/dist/src/azurite.js");
  const args = [
    "--silent",
    "--location",
    location,
    "--blobPort",
    "0",
    "--queuePort",
    "0",
    "--tablePort",
    "0",
    "--skipApiVersionCheck",
    "--loose",
    "--disableTelemetry",
  ];
  const child = spawn(process.execPath, ["-e", WRAPPER, "--", bin, ...args], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    process.removeListener("exit", killOnExit);
    await killChild(child);
    if (ownsLocation) await rm(location, { recursive: true, force: true });
  };

  try {
    const urls = await waitForListening(child, options.startTimeoutMs ?? 30_000);
    const blobEndpoint = `${urls.Blob}/${DEV_ACCOUNT}`;
    const tableEndpoint = `${urls.Table}/${DEV_ACCOUNT}`;
    await Promise.all([waitForAnswer(blobEndpoint), waitForAnswer(tableEndpoint)]);
    const connectionString =
      `DefaultEndpointsProtocol=http;AccountName=${DEV_ACCOUNT};AccountKey=${DEV_ACCOUNT_KEY};` +
      `BlobEndpoint=${blobEndpoint};TableEndpoint=${tableEndpoint};`;
    return { connectionString, blobEndpoint, tableEndpoint, location, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function waitForListening(child: ChildProcess, timeoutMs: number): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    const urls: Record<string, string> = {};
    let output = "";
    const timer = setTimeout(
      () => fail(`Azurite did not start within ${timeoutMs} ms. Its output:\n${output}`),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      for (const line of output.split("\n")) {
        const m = LISTENING.exec(line);
        if (m) urls[m[1]] = m[2];
      }
      if (urls.Blob && urls.Table && urls.Queue) {
        cleanup();
        resolve(urls);
      }
    };
    const onExit = (code: number | null) =>
      fail(`Azurite exited (code ${code}) before it was ready. Its output:\n${output}`);
    const fail = (message: string) => {
      cleanup();
      reject(new Error(`${message}\nCheck that the azurite package is installed (npm ci).`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout?.removeListener("data", onData);
      child.stderr?.removeListener("data", onData);
      child.removeListener("exit", onExit);
      // Keep draining output so a chatty child never blocks on a full pipe.
      child.stdout?.resume();
      child.stderr?.resume();
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", onExit);
  });
}

/** Any HTTP answer (even 400) proves the service is accepting requests. */
async function waitForAnswer(url: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      await fetch(url, { signal: AbortSignal.timeout(2_000) });
      return;
    } catch (err) {
      if (Date.now() > deadline)
        throw new Error(`Azurite at ${url} does not answer`, { cause: err });
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

function killChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill("SIGKILL"), 3_000);
    child.once("exit", () => {
      clearTimeout(force);
      resolve();
    });
    child.kill("SIGTERM");
  });
}
