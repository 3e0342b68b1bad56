import type { RuntimeConfig } from "../app/config";
import type { Runtime } from "../app/runtime";
import { UsageError } from "../core/errors";
import { EXIT } from "./help";
import type { CliIo } from "./io";

/** `subscription start|stop|list` for every configured content type. */
export async function subscriptionCommand(
  runtime: Runtime,
  config: RuntimeConfig,
  action: string | undefined,
  io: CliIo,
): Promise<number> {
  switch (action) {
    case "start":
      for (const ct of config.contentTypes) {
        const result = await runtime.api.startSubscription(ct, { signal: io.signal });
        runtime.logger.info(
          result === "started" ? "subscription started" : "subscription already enabled (AF20024)",
          { contentType: ct },
        );
      }
      return EXIT.ok;
    case "stop":
      for (const ct of config.contentTypes) {
        await runtime.api.stopSubscription(ct, { signal: io.signal });
        runtime.logger.info("subscription stopped", { contentType: ct });
      }
      return EXIT.ok;
    case "list":
      io.stdout(
        JSON.stringify(await runtime.api.listSubscriptions({ signal: io.signal }), null, 2) + "\n",
      );
      return EXIT.ok;
    default:
      throw new UsageError(
        `subscription needs start, stop or list${action ? `, not "${action}"` : ""}.`,
      );
  }
}
