/**
 * `npm run bench`: streaming a content blob through the runtime's JSON array splitter versus the
 * naive way (whole body as one string, then JSON.parse), on the same synthetic blob of audit
 * records. Each variant runs in its own child process so peak memory (max RSS) is measured
 * cleanly; the result is printed as ratios, which mean more across machines than absolute numbers.
 *
 *   npm run bench -- parse
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { atLeast, type Bench } from "./result";
import { forEachArrayItem } from "../sync-runtime/src/clients/json-array-stream";

const CHUNK = 64 * 1024;

function record(i: number): string {
  const id = `${(i * 2654435761) % 4294967296}`.padStart(10, "0");
  return JSON.stringify({
    Id: `e2a84675-8952-4d91-a2ea-${id}ab`,
    RecordType: 256,
    CreationTime: "2026-05-19T13:17:34",
    Operation: i % 50 === 0 ? "DeletePowerApp" : "LaunchPowerApp",
    OrganizationId: "33333333-3333-3333-3333-333333333333",
    UserType: 0,
    UserKey: "7ff1e0f1-e2a4-48a0-874e-34db43893df1",
    Workload: "PowerPlatform",
    UserId: `user${i % 500}@contoso.onmicrosoft.com`,
    EnvironmentId: "aa289efd-09f4-eaeb-bbb8-c08fc9e27d09",
    PropertyCollection: [
      {
        Name: "powerplatform.analytics.resource.power_app.display_name",
        Value: `App ${i % 40} — “quoted” \\ name`,
      },
      {
        Name: "powerplatform.analytics.resource.power_app.id",
        Value: `6c39e97c-6ddd-4a37-afd4-${String(i % 40).padStart(12, "0")}`,
      },
      { Name: "enduser.principal_name", Value: `user${i % 500}@contoso.onmicrosoft.com` },
    ],
  });
}

/** The blob as the network delivers it: 64 KB byte chunks, generated lazily. */
async function* blobChunks(targetBytes: number): AsyncGenerator<Uint8Array> {
  const encoder = new TextEncoder();
  let pending = "[";
  let size = 0;
  for (let i = 0; size < targetBytes; i++) {
    const r = (i ? "," : "") + record(i);
    pending += r;
    size += r.length;
    if (pending.length >= CHUNK) {
      yield encoder.encode(pending);
      pending = "";
    }
  }
  yield encoder.encode(pending + "]");
}

async function runVariant(variant: "stream" | "whole", mb: number) {
  let count = 0;
  const started = performance.now();
  if (variant === "stream") {
    await forEachArrayItem(blobChunks(mb * 1024 * 1024), (items: unknown[]) => {
      count += items.length;
    });
  } else {
    const parts: Buffer[] = [];
    for await (const c of blobChunks(mb * 1024 * 1024)) parts.push(Buffer.from(c));
    const records = JSON.parse(Buffer.concat(parts).toString("utf8")) as unknown[];
    for (const _ of records) count++;
  }
  const ms = performance.now() - started;
  process.stdout.write(
    JSON.stringify({ variant, count, ms, maxRssMb: process.resourceUsage().maxRSS / 1024 }),
  );
}

const bench: Bench = async () => {
  const mb = 30;

  const self = fileURLToPath(import.meta.url);
  const run = (v: string) => {
    const out = spawnSync(process.execPath, ["--import", "tsx", self, v, "--mb", String(mb)], {
      encoding: "utf8",
    });
    if (out.status !== 0) throw new Error(`${v} failed: ${out.stderr}`);
    return JSON.parse(out.stdout) as { count: number; ms: number; maxRssMb: number };
  };
  const stream = run("stream");
  const whole = run("whole");
  if (stream.count !== whole.count)
    throw new Error(`record counts differ: ${stream.count} vs ${whole.count}`);
  console.log(`blob: ${mb} MB, ${stream.count} records`);
  console.log(
    `streaming splitter: ${stream.ms.toFixed(0)} ms, peak RSS ${stream.maxRssMb.toFixed(0)} MB`,
  );
  console.log(
    `whole body + JSON.parse: ${whole.ms.toFixed(0)} ms, peak RSS ${whole.maxRssMb.toFixed(0)} MB`,
  );
  console.log(
    `ratio streaming/whole: time ${(stream.ms / whole.ms).toFixed(2)}x, peak memory ${(stream.maxRssMb / whole.maxRssMb).toFixed(2)}x`,
  );
  return [atLeast("streaming split records/s / JSON.parse records/s", whole.ms / stream.ms, 0.5)];
};
export default bench;

// Child mode: one variant, run by the bench itself in a fresh process.
const variantArg = process.argv.find((a) => a === "stream" || a === "whole");
if (variantArg && process.argv[1] === fileURLToPath(import.meta.url))
  await runVariant(variantArg as "stream" | "whole", 30);
