import type { Runtime } from "../app/runtime";
import { UsageError } from "../core/errors";
import { createProgressRenderer } from "../presentation/progress/progress-renderer";
import { parseTime, type Parsed } from "./args";
import { EXIT } from "./help";
import type { CliIo } from "./io";

/** `once [--from] [--to]`: one pass, progress on stderr, the JSON summary on stdout. */
export async function onceCommand(runtime: Runtime, parsed: Parsed, io: CliIo): Promise<number> {
  const from = parsed.flags.has("from") ? parseTime("from", parsed.flags.get("from")!) : undefined;
  const to = parsed.flags.has("to") ? parseTime("to", parsed.flags.get("to")!) : undefined;
  if (from && to && from >= to) throw new UsageError("--from must be before --to.");
  const progress = createProgressRenderer({ stream: io.stderr, isTTY: io.stderr.isTTY === true });
  try {
    const results = await runtime.sync({
      from,
      to,
      onProgress: (s) => progress.update(s),
      signal: io.signal,
    });
    progress.finish("done");
    io.stdout(JSON.stringify(results, null, 2) + "\n");
    return EXIT.ok;
  } catch (err) {
    progress.finish("failed");
    throw err;
  }
}
