import type { DataverseProgress } from "../app/dataverse-wiring";
import type { Runtime } from "../app/runtime";
import { UsageError } from "../core/errors";
import { parseTime, type Parsed } from "./args";
import { EXIT } from "./help";
import type { CliIo } from "./io";

/**
 * `dataverse backfill [--from ISO]` and `dataverse retry-rejected`: the Dataverse sink's work on
 * demand, holding the sync lease like `once`; a progress line per step on stderr, the JSON
 * summary on stdout.
 */
export async function dataverseCommand(
  runtime: Runtime,
  sub: string | undefined,
  parsed: Parsed,
  io: CliIo,
): Promise<number> {
  if (!runtime.dataverse)
    throw new UsageError(
      "The Dataverse sink is off: set AUDIT_DATAVERSE_URL to the CoE environment's URL.",
    );
  const onDataverseProgress = (p: DataverseProgress) =>
    io.stderr.write(`${dataverseProgressLine(p)}\n`);
  if (sub === "backfill") {
    const from = parsed.flags.has("from")
      ? parseTime("from", parsed.flags.get("from")!)
      : undefined;
    const result = await runtime.dataverse.backfill({
      fromDay: from?.toISOString().slice(0, 10),
      signal: io.signal,
      onDataverseProgress,
    });
    io.stdout(JSON.stringify(result, null, 2) + "\n");
    return EXIT.ok;
  }
  if (sub === "retry-rejected") {
    if (parsed.flags.size > 0) throw new UsageError("dataverse retry-rejected takes no options.");
    const result = await runtime.dataverse.retryRejected({
      signal: io.signal,
      onDataverseProgress,
    });
    io.stdout(JSON.stringify(result, null, 2) + "\n");
    return EXIT.ok;
  }
  throw new UsageError(
    sub
      ? `Unknown dataverse command "${sub}": use backfill or retry-rejected.`
      : "dataverse needs a command: backfill or retry-rejected.",
  );
}

const count = new Intl.NumberFormat("en-US");

/** One progress line of the sink's back-fill or drain. */
export function dataverseProgressLine(p: DataverseProgress): string {
  if (p.phase === "backfill")
    return `progress: dataverse back-fill  day ${p.day} (${p.daysDone}/${p.days})  events ${count.format(p.events)} into the outbox`;
  const r = p.result;
  return (
    `progress: dataverse  events ${count.format(p.handled)}/${count.format(p.total)}  ` +
    `rows written ${count.format(r.launchesWritten)}  apps updated ${count.format(r.appsUpdated)}  ` +
    `held ${count.format(r.held)}  rejected ${count.format(r.rejected)}`
  );
}
