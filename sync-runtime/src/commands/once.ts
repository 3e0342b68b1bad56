import type { Runtime } from "../app/runtime";
import { UsageError } from "../core/errors";
import { createProgressRenderer } from "../presentation/progress/progress-renderer";
import { AUDIT_SOURCES, type AuditSource } from "../../contract";
import type { ProgressSnapshot } from "../domain/progress-snapshot";
import { parseTime, type Parsed } from "./args";
import type { DataverseProgress } from "../app/dataverse-wiring";
import { dataverseProgressLine } from "./dataverse";
import { EXIT } from "./help";
import type { CliIo } from "./io";

/**
 * `once [--from] [--to] [--source managementApi|graph] [--gaps]`: one pass, progress on stderr,
 * the JSON summary on stdout. `--source` overrides AUDIT_SOURCE for this run; `--gaps` (with
 * `--source graph`) re-reads every recorded gap from Microsoft Graph instead of a normal pass.
 */
export async function onceCommand(runtime: Runtime, parsed: Parsed, io: CliIo): Promise<number> {
  const from = parsed.flags.has("from") ? parseTime("from", parsed.flags.get("from")!) : undefined;
  const to = parsed.flags.has("to") ? parseTime("to", parsed.flags.get("to")!) : undefined;
  if (from && to && from >= to) throw new UsageError("--from must be before --to.");
  const source = parseSource(parsed.flags.get("source"), runtime.config.source);
  if (source === "graph" && !runtime.config.graphAvailable)
    throw new UsageError(
      "--source graph is not available in GCC High or DoD: Microsoft Graph's audit log query API is offered in the global service only (AUDIT_AUDIENCE/AUDIT_GRAPH_ENDPOINT name a US Government cloud).",
    );
  const gaps = parsed.flags.has("gaps");
  if (gaps && source !== "graph")
    throw new UsageError("--gaps fills gaps from Microsoft Graph: add --source graph.");
  if (gaps && (from || to))
    throw new UsageError("--gaps reads the recorded gaps' own intervals: drop --from/--to.");
  const progress = createProgressRenderer({ stream: io.stderr, isTTY: io.stderr.isTTY === true });
  try {
    const request = {
      from,
      to,
      onProgress: (s: ProgressSnapshot) => progress.update(s),
      onDataverseProgress: (p: DataverseProgress) =>
        io.stderr.write(`${dataverseProgressLine(p)}\n`),
      signal: io.signal,
    };
    const results = gaps
      ? await runtime.fillGaps(request)
      : source === "graph"
        ? [await runtime.syncGraph(request)]
        : await runtime.sync(request);
    progress.finish("done");
    io.stdout(JSON.stringify(results, null, 2) + "\n");
    return EXIT.ok;
  } catch (err) {
    progress.finish("failed");
    throw err;
  }
}

function parseSource(raw: string | undefined, configured: AuditSource): AuditSource {
  if (raw === undefined) return configured;
  if (!(AUDIT_SOURCES as readonly string[]).includes(raw))
    throw new UsageError(`--source ${raw} is not one of ${AUDIT_SOURCES.join(", ")}.`);
  return raw as AuditSource;
}
