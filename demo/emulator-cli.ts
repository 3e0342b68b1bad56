/**
 * `npm run emulator -- [options]`: starts the emulator and prints how to point a client at it,
 * the sync runtime's environment included (named by the runtime's contract, which the emulator
 * itself never reads). Stays up until Ctrl-C.
 */
import { parseArgs } from "node:util";
import { POWER_APPS_CONTENT_TYPE, startEmulator, type EmulatorOptions } from "../emulator/index";
import { runtimeEnvFor } from "./runtime-env";

const HELP = `Usage: npm run emulator -- [options]

Local Entra token endpoint + Office 365 Management Activity API with a synthetic tenant.

Server
  --port <n>               listening port on 127.0.0.1 (default 0 = a free port)
  --seed <s>               seed of the tenant, blobs and faults (default coe-audit-sync)
  --start-time <iso>       run a simulated clock from this time (default: real time)
  --json                   print one JSON line {url, caCertPath, tenant, env} instead of text
  --federated              print the runtime's environment for the federated credential (the
                           emulator's managed identity, IDENTITY_ENDPOINT/IDENTITY_HEADER, no
                           secret) instead of the client secret
Tenant
  --days <n>               days of history before now (default 7)
  --future-days <n>        days of activity after now (default 7)
  --apps <n>               apps (default 25)          --environments <n>  (default 3)
  --users <n>              users (default 60)         --deletes <n>       deleted apps (default 3)
  --launches-per-day <n>   mean weekday launches (default 300)
  --abandoned <n>          apps nobody launches any more, not deleted (default 2)
  --legacy-share <p>       share of RecordType 45 records (default 0.25)
Content
  --page-size <n>          items per listing page (default 200)
  --duplicates <p>         share of records served twice (default 0.02)
  --big-blobs <p>          share of Audit.General blobs padded to a big size (default 0)
  --big-blob-mb <min,max>  size range of those big blobs in MB (default 10,40)
  --blob-interval-minutes <n>  minutes between content blobs of one type (default 10)
  --max-records-per-blob <n>   records per blob before it is split (default 500)
  --history <full|sinceSubscription>  (default full)
  --cache-bodies           serve each blob from memory after its first request (for benches)
Quota and tokens
  --quota <n>              requests/minute per PublisherIdentifier (default 2000)
  --shared-quota <n>       requests/minute without PublisherIdentifier (default quota/4)
  --throttle-status <403|429|mixed>   (default mixed)
  --token-lifetime <s>     access token lifetime in seconds (default 3599)
  --no-consent             tokens lack ActivityFeed.Read (API answers AF10001)
Faults (probabilities 0..1, all default 0)
  --fault-5xx <p>  --fault-reset <p>  --fault-truncate <p>  --fault-slow <p>
  --fault-storm <p>  --fault-token <p>  --latency-ms <min,max>
  --flaky                  shorthand: 5xx 0.02, reset 0.01, truncate 0.01, slow 0.02, storm 0.002, token 0.05
`;

const MB = 1024 * 1024;

function fail(message: string): never {
  process.stderr.write(`${message}\nRun npm run emulator -- --help for the options.\n`);
  process.exit(2);
}

function num(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) fail(`--${name} must be a number, got "${value}"`);
  return n;
}

function pair(name: string, value: string | undefined): [number, number] | undefined {
  if (value === undefined) return undefined;
  const parts = value.split(",").map(Number);
  if (parts.length !== 2 || parts.some((p) => !Number.isFinite(p)))
    fail(`--${name} must be "min,max", got "${value}"`);
  return [parts[0], parts[1]];
}

const stringOptions = [
  "port",
  "seed",
  "start-time",
  "days",
  "future-days",
  "apps",
  "environments",
  "users",
  "deletes",
  "abandoned",
  "launches-per-day",
  "legacy-share",
  "page-size",
  "duplicates",
  "big-blobs",
  "big-blob-mb",
  "blob-interval-minutes",
  "max-records-per-blob",
  "history",
  "quota",
  "shared-quota",
  "throttle-status",
  "token-lifetime",
  "fault-5xx",
  "fault-reset",
  "fault-truncate",
  "fault-slow",
  "fault-storm",
  "fault-token",
  "latency-ms",
] as const;

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        ...Object.fromEntries(stringOptions.map((o) => [o, { type: "string" as const }])),
        help: { type: "boolean", short: "h" },
        json: { type: "boolean" },
        "no-consent": { type: "boolean" },
        "cache-bodies": { type: "boolean" },
        flaky: { type: "boolean" },
        federated: { type: "boolean" },
      },
      strict: true,
    });
  } catch (err) {
    fail((err as Error).message);
  }
  const v = parsed.values as Record<string, string | boolean | undefined>;
  if (v.help) {
    process.stdout.write(HELP);
    return;
  }
  const s = (k: string) => v[k] as string | undefined;
  let startTime: Date | undefined;
  if (s("start-time") !== undefined) {
    startTime = new Date(s("start-time")!);
    if (Number.isNaN(startTime.getTime()))
      fail(`--start-time must be an ISO date, got "${s("start-time")}"`);
  }
  const throttle = s("throttle-status");
  if (throttle !== undefined && !["403", "429", "mixed"].includes(throttle))
    fail(`--throttle-status must be 403, 429 or mixed, got "${throttle}"`);
  const flaky = v.flaky === true;
  const options: EmulatorOptions = {
    port: num("port", s("port")),
    seed: s("seed"),
    startTime,
    tenant: {
      days: num("days", s("days")),
      futureDays: num("future-days", s("future-days")),
      apps: num("apps", s("apps")),
      environments: num("environments", s("environments")),
      users: num("users", s("users")),
      deletes: num("deletes", s("deletes")),
      abandonedApps: num("abandoned", s("abandoned")),
      launchesPerDay: num("launches-per-day", s("launches-per-day")),
      legacySchemaShare: num("legacy-share", s("legacy-share")),
    },
    content: {
      duplicateShare: num("duplicates", s("duplicates")),
      bigBlobShare: num("big-blobs", s("big-blobs")),
      bigBlobBytes: pair("big-blob-mb", s("big-blob-mb"))?.map((mb) => Math.round(mb * MB)) as
        [number, number] | undefined,
      blobIntervalMinutes: num("blob-interval-minutes", s("blob-interval-minutes")),
      maxRecordsPerBlob: num("max-records-per-blob", s("max-records-per-blob")),
      history: s("history") as "full" | "sinceSubscription" | undefined,
    },
    faults: {
      serverErrorRate: num("fault-5xx", s("fault-5xx")) ?? (flaky ? 0.02 : undefined),
      resetRate: num("fault-reset", s("fault-reset")) ?? (flaky ? 0.01 : undefined),
      truncateRate: num("fault-truncate", s("fault-truncate")) ?? (flaky ? 0.01 : undefined),
      slowBodyRate: num("fault-slow", s("fault-slow")) ?? (flaky ? 0.02 : undefined),
      throttleStormRate: num("fault-storm", s("fault-storm")) ?? (flaky ? 0.002 : undefined),
      tokenOutageRate: num("fault-token", s("fault-token")) ?? (flaky ? 0.05 : undefined),
    },
    pageSize: num("page-size", s("page-size")),
    quotaPerMinute: num("quota", s("quota")),
    sharedQuotaPerMinute: num("shared-quota", s("shared-quota")),
    throttleStatus:
      throttle === undefined
        ? undefined
        : throttle === "mixed"
          ? "mixed"
          : (Number(throttle) as 403 | 429),
    tokenLifetimeSeconds: num("token-lifetime", s("token-lifetime")),
    latencyMs: pair("latency-ms", s("latency-ms")),
    consentGranted: v["no-consent"] ? false : undefined,
    cacheBodies: v["cache-bodies"] ? true : undefined,
  };

  let emulator;
  try {
    emulator = await startEmulator(options);
  } catch (err) {
    fail((err as Error).message);
  }
  const t = emulator.tenant;
  const env = runtimeEnvFor(emulator, v.federated === true ? "federated" : "secret");
  if (v.json) {
    process.stdout.write(
      `${JSON.stringify({ url: emulator.url, caCertPath: emulator.caCertPath, tenant: t, env })}\n`,
    );
  } else {
    const api = `${emulator.url}/api/v1.0/${t.tenantId}/activity/feed`;
    process.stdout.write(
      [
        `Audit emulator listening on ${emulator.url}  (clock: ${startTime ? `simulated from ${startTime.toISOString()}` : "real time"})`,
        "",
        `  Token authority   ${emulator.authority}/${t.tenantId}`,
        `  OpenID config     ${emulator.authority}/${t.tenantId}/v2.0/.well-known/openid-configuration`,
        `  Token endpoint    ${emulator.authority}/${t.tenantId}/oauth2/v2.0/token  (scope ${emulator.audience}/.default)`,
        `  Activity API      ${api}/subscriptions/content?contentType=${POWER_APPS_CONTENT_TYPE}`,
        `  CA certificate    ${emulator.caCertPath}`,
        "",
        "Synthetic tenant (not a secret anywhere but here):",
        `  tenant id       ${t.tenantId}  (${t.domain})`,
        `  client id       ${t.clientId}`,
        `  client secret   ${t.clientSecret}`,
        `  secret id       ${t.clientSecretId}  (the id, not the value: using it fails with AADSTS7000215)`,
        `  managed identity ${emulator.managedIdentity.clientId}  (IDENTITY_ENDPOINT ${emulator.managedIdentity.endpoint}; the app trusts it: --federated)`,
        "",
        "Paste into the shell that runs the client (NODE_EXTRA_CA_CERTS is read at process start):",
        ...Object.entries(env).map(([k, val]) => `export ${k}=${shellQuote(val!)}`),
        "",
        "msal-node: list the host in knownAuthorities:",
        `  knownAuthorities: ["${new URL(emulator.url).host}"]`,
        "",
        "Ctrl-C to stop.",
        "",
      ].join("\n"),
    );
  }
  const stop = async () => {
    await emulator.stop();
    process.exit(0);
  };
  process.once("SIGINT", () => void stop());
  process.once("SIGTERM", () => void stop());
}

function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, "'\\''")}'`;
}

void main();
