/**
 * `npm run demo`: the whole project on one machine in about a minute, no tenant and no Azure.
 * Thin command line over runDemo (run-demo.ts).
 */
import { parseArgs } from "node:util";
import { DemoInterrupted, runDemo } from "./run-demo";

const HELP = `Usage: npm run demo [-- options]

Starts the emulator (a synthetic Microsoft 365 tenant) and Azurite, runs the sync runtime's
subscription start, a 7-day backfill and its reports, checks the figures against the emulator's
ground truth, writes the dashboard (HTML), CSV and JSON, and stops everything again.

  --out <dir>       where the report files go (default: out/ in the repository)
  --seed <s>        seed of the synthetic tenant (default coe-demo)
  --apps <n>        apps in the tenant (default 40)
  --users <n>       users (default 400)
  --launches-per-day <n>   mean weekday launches (default 1500)
  --stale-days <n>  list apps not launched for n days, 1 to 6 (default 3; the runtime has
                    only seen the 7 days the API serves)
  --dataverse       also run an emulated CoE Dataverse environment: the runtime fills its
                    admin_auditlogs/admin_apps tables, compared with the report
  --graph           read the same tenant through Microsoft Graph's audit log queries
                    (its whole history, many queries in flight) instead of the
                    Management Activity API
  --secret          sign the runtime in with the app's client secret instead of the default,
                    a deployed stack's: the managed identity's token as federated credential
  --help            this text

Exit codes: 0 the report (and its apps not launched for n days) equals the ground truth, 1 it
does not or something failed,
2 bad option, 130 interrupted (Ctrl-C).
`;

function positive(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    process.stderr.write(`--${name} must be a whole number of at least 1, got "${value}".\n`);
    process.exit(2);
  }
  return n;
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      out: { type: "string" },
      seed: { type: "string" },
      apps: { type: "string" },
      users: { type: "string" },
      "launches-per-day": { type: "string" },
      "stale-days": { type: "string" },
      dataverse: { type: "boolean" },
      graph: { type: "boolean" },
      secret: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  }));
} catch (err) {
  process.stderr.write(`${(err as Error).message}\nRun npm run demo -- --help for the options.\n`);
  process.exit(2);
}
if (values.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
const staleDays = positive("stale-days", values["stale-days"]);
if (staleDays !== undefined && staleDays > 6) {
  process.stderr.write(
    `--stale-days must be at most 6: the runtime has only seen the last 7 days, got "${staleDays}".\n`,
  );
  process.exit(2);
}

const controller = new AbortController();
const interrupt = () => {
  // A second Ctrl-C does not wait for the clean stop (children are killed on exit regardless).
  if (controller.signal.aborted) process.exit(130);
  process.stderr.write("\nInterrupted: stopping the runtime, the emulator and Azurite...\n");
  controller.abort();
};
process.on("SIGINT", interrupt);
process.on("SIGTERM", interrupt);

try {
  const result = await runDemo({
    outDir: values.out,
    seed: values.seed,
    staleDays,
    dataverse: values.dataverse === true,
    graph: values.graph === true,
    credential: values.secret === true ? "secret" : "federated",
    tenant: {
      ...(values.apps ? { apps: positive("apps", values.apps) } : {}),
      ...(values.users ? { users: positive("users", values.users) } : {}),
      ...(values["launches-per-day"]
        ? { launchesPerDay: positive("launches-per-day", values["launches-per-day"]) }
        : {}),
    },
    signal: controller.signal,
  });
  process.exitCode = result.differences.length === 0 ? 0 : 1;
} catch (err) {
  if (err instanceof DemoInterrupted) {
    process.stderr.write(`${err.message}\n`);
    process.exitCode = 130;
  } else {
    process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
