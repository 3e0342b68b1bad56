/**
 * Azurite, Azure Storage's own emulator, as a child process for the demo and the integration
 * tests. Not part of the emulator/ folder, which stands in for Microsoft 365's services only.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export interface AzuriteOptions {
  /** Workspace folder for Azurite's data. Default: a fresh temp dir, removed by stop(). */
  location?: string;
  /**
   * Keep all data in memory (Azurite's --inMemoryPersistence): nothing on disk, quicker, and
   * nothing kept across a stop, so stop({ keepData: true }) is refused. Not with `location`.
   * Default false.
   */
  inMemory?: boolean;
  /**
   * Storage accounts to serve besides devstoreaccount1, all with its well-known key (Azurite's
   * AZURITE_ACCOUNTS). Each account has its own containers and tables, so one Azurite can keep
   * many users apart. Names follow Azure's rule: 3 to 24 lowercase letters and digits.
   */
  accounts?: string[];
  /** Milliseconds to wait for both services to answer. Default 30000. */
  startTimeoutMs?: number;
}

export interface AzuriteStopOptions {
  /**
   * Keep the data folder and the ports: Azurite goes down (connections refused) and start()
   * brings the same storage back. Default false: the final stop, which removes the temp folder
   * it made.
   */
  keepData?: boolean;
}

export interface RunningAzurite {
  /** The same for the whole life of this handle, across stop({ keepData: true }) and start(). */
  connectionString: string;
  blobEndpoint: string;
  tableEndpoint: string;
  /** The workspace folder in use; null when the data is in memory. */
  location: string | null;
  /** The connection string of another account it serves (AzuriteOptions.accounts). */
  connectionStringFor(account: string): string;
  /** Whether Azurite is up (false between stop({ keepData: true }) and start()). */
  readonly running: boolean;
  /**
   * Stops Azurite gracefully (SIGTERM: it saves its metadata; SIGKILL after 3 s). With
   * keepData, start() can bring it back; without it, the handle is done.
   */
  stop(options?: AzuriteStopOptions): Promise<void>;
  /** After stop({ keepData: true }): starts Azurite again on the same ports and data folder. */
  start(): Promise<void>;
  /** stop({ keepData: true }), downMs of outage (default 0), then start(). */
  restart(options?: { downMs?: number }): Promise<void>;
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

/** Spares Azurite work that changes no answer: key lookups, URI templates, telemetry (see the file). */
const PRELOAD = fileURLToPath(new URL("./azurite-preload.cjs", import.meta.url));

/**
 * The connection string of an account Azurite serves (path-style URLs: the account is the first
 * path segment), with the well-known key every account here shares.
 */
export function accountConnectionString(
  blobUrl: string,
  tableUrl: string,
  account: string,
): string {
  return (
    `DefaultEndpointsProtocol=http;AccountName=${account};AccountKey=${DEV_ACCOUNT_KEY};` +
    `BlobEndpoint=${blobUrl}/${account};TableEndpoint=${tableUrl}/${account};`
  );
}

/** Azure's rule for storage account names. */
const ACCOUNT_NAME = /^[a-z0-9]{3,24}$/;

const LISTENING = /Azurite (Blob|Queue|Table) service is successfully listening at (http:\/\/\S+)/;

/**
 * Starts Azurite as a child process on free loopback ports (port 0; the real ports are read from
 * its startup output, so there is no race for a port) and waits until blob and table answer.
 */
export async function startAzurite(options: AzuriteOptions = {}): Promise<RunningAzurite> {
  const inMemory = options.inMemory ?? false;
  if (inMemory && options.location !== undefined)
    throw new RangeError(
      "startAzurite: inMemory keeps no data folder; leave out either location or inMemory",
    );
  const accounts = [DEV_ACCOUNT, ...(options.accounts ?? [])];
  for (const name of accounts) {
    if (!ACCOUNT_NAME.test(name))
      throw new RangeError(
        `startAzurite: account name "${name}" is not 3 to 24 lowercase letters and digits; rename it`,
      );
  }
  const ownsLocation = options.location === undefined && !inMemory;
  const location = inMemory
    ? null
    : (options.location ?? (await mkdtemp(join(tmpdir(), "azurite-"))));
  const timeoutMs = options.startTimeoutMs ?? 30_000;
  const bin = createRequire(import.meta.url).resolve("azurite/dist/src/azurite.js");

  let child: ChildProcess | null = null;
  const killOnExit = () => child?.kill("SIGKILL");
  process.on("exit", killOnExit);
  let finished = false;
  const finish = async () => {
    if (finished) return;
    finished = true;
    process.removeListener("exit", killOnExit);
    if (ownsLocation && location) await rm(location, { recursive: true, force: true });
  };
  /** Stops the current child, if any; the ports and the folder stay. */
  const down = async () => {
    const current = child;
    child = null;
    if (current) await killChild(current);
  };
  /** Starts a child on the given ports (0 = free ports), returns the services' URLs once they answer. */
  const up = async (ports: { blob: number; queue: number; table: number }) => {
    const args = [
      "--silent",
      ...(location ? ["--location", location] : ["--inMemoryPersistence"]),
      "--blobPort",
      String(ports.blob),
      "--queuePort",
      String(ports.queue),
      "--tablePort",
      String(ports.table),
      "--skipApiVersionCheck",
      "--loose",
      "--disableTelemetry",
    ];
    const started = spawn(
      process.execPath,
      ["--require", PRELOAD, "-e", WRAPPER, "--", bin, ...args],
      {
        stdio: ["pipe", "pipe", "pipe"],
        env: {
          ...process.env,
          AZURITE_ACCOUNTS: accounts.map((name) => `${name}:${DEV_ACCOUNT_KEY}`).join(";"),
        },
      },
    );
    child = started;
    // Azurite dying on its own counts as down too.
    started.once("exit", () => {
      if (child === started) child = null;
    });
    try {
      const urls = await waitForListening(started, timeoutMs);
      const blobEndpoint = `${urls.Blob}/${DEV_ACCOUNT}`;
      const tableEndpoint = `${urls.Table}/${DEV_ACCOUNT}`;
      await Promise.all([waitForAnswer(blobEndpoint), waitForAnswer(tableEndpoint)]);
      return { urls, blobEndpoint, tableEndpoint };
    } catch (err) {
      await down();
      throw err;
    }
  };

  let first: Awaited<ReturnType<typeof up>>;
  try {
    first = await up({ blob: 0, queue: 0, table: 0 });
  } catch (err) {
    await finish();
    throw err;
  }
  const { blobEndpoint, tableEndpoint } = first;
  const port = (url: string) => Number(new URL(url).port);
  const ports = {
    blob: port(first.urls.Blob),
    queue: port(first.urls.Queue),
    table: port(first.urls.Table),
  };
  const connectionStringFor = (account: string) => {
    if (!accounts.includes(account))
      throw new RangeError(
        `Azurite does not serve account "${account}"; name it in startAzurite's accounts option`,
      );
    return accountConnectionString(first.urls.Blob, first.urls.Table, account);
  };
  const connectionString = connectionStringFor(DEV_ACCOUNT);

  // One operation at a time: a restart never races a stop.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(task: () => Promise<T>): Promise<T> => {
    const run = queue.then(task, task);
    queue = run.catch(() => undefined);
    return run;
  };
  const stop = (stopOptions: AzuriteStopOptions = {}) =>
    serial(async () => {
      if (stopOptions.keepData && inMemory)
        throw new Error("Azurite keeps its data in memory (inMemory): a stop cannot keep it");
      await down();
      if (!stopOptions.keepData) await finish();
    });
  const start = () =>
    serial(async () => {
      if (finished) throw new Error("Azurite was stopped for good (stop() without keepData)");
      if (child) return;
      const again = await up(ports);
      if (again.blobEndpoint !== blobEndpoint || again.tableEndpoint !== tableEndpoint)
        throw new Error(
          `Azurite came back on other endpoints (${again.blobEndpoint}, ${again.tableEndpoint})`,
        );
    });
  return {
    connectionString,
    connectionStringFor,
    blobEndpoint,
    tableEndpoint,
    location,
    get running() {
      return child !== null;
    },
    stop,
    start,
    restart: async (restartOptions = {}) => {
      await stop({ keepData: true });
      if (restartOptions.downMs) await new Promise((r) => setTimeout(r, restartOptions.downMs));
      await start();
    },
  };
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
