import { writeFile } from "node:fs/promises";
import type { Runtime } from "../app/runtime";
import { UsageError } from "../core/errors";
import { lastDays } from "../domain/report-window";
import { isReportFormat, REPORT_FORMATS, renderReport } from "../presentation/report/render";
import { parseStaleDays, parseTime, type Parsed } from "./args";
import { EXIT } from "./help";
import type { CliIo } from "./io";

/** `report`: the usage report of a window in one format, to stdout or --out. */
export async function reportCommand(runtime: Runtime, parsed: Parsed, io: CliIo): Promise<number> {
  const format = parsed.flags.get("format") ?? "table";
  if (!isReportFormat(format))
    throw new UsageError(`--format ${format} is not one of ${REPORT_FORMATS.join(", ")}.`);
  const hasDays = parsed.flags.has("days");
  const hasFrom = parsed.flags.has("from");
  const hasTo = parsed.flags.has("to");
  if (hasDays && (hasFrom || hasTo))
    throw new UsageError("Use either --days or --from/--to, not both.");
  let window: { from: Date; to: Date };
  if (hasFrom || hasTo) {
    if (!hasFrom || !hasTo) throw new UsageError("--from and --to go together.");
    window = {
      from: parseTime("from", parsed.flags.get("from")!),
      to: parseTime("to", parsed.flags.get("to")!),
    };
    if (window.from >= window.to) throw new UsageError("--from must be before --to.");
  } else {
    const raw = parsed.flags.get("days") ?? "7";
    const days = Number(raw);
    if (!Number.isInteger(days) || days < 1 || days > 3660)
      throw new UsageError(`--days ${raw} is not a whole number of days between 1 and 3660.`);
    window = lastDays(runtime.now(), days);
  }
  const staleDays = parseStaleDays(parsed.flags.get("stale-days"));
  const text = renderReport(await runtime.report(window, { staleDays, signal: io.signal }), format);
  const out = parsed.flags.get("out");
  if (out) {
    await writeFile(out, text);
    runtime.logger.info("report written", { file: out, format });
  } else {
    io.stdout(text);
  }
  return EXIT.ok;
}
