import { TABLES } from "../../contract";
import { createTokenProvider } from "../clients/auth";
import { DataverseClient } from "../clients/dataverse";
import { HttpClient } from "../clients/http/client";
import { RateLimiter } from "../clients/http/limiter";
import type { Logger } from "../core/log";
import type { Metrics } from "../core/metrics";
import type { Storage } from "../storage/account";
import { DataverseOutbox } from "../storage/dataverse-outbox";
import type { RuntimeConfig } from "./config";
import { DATAVERSE_LIMITS, DataverseSink } from "./dataverse-sink";
import type { SyncStore } from "./pass";
import type { RuntimeDeps } from "./runtime";

export interface DataverseWiring {
  sink: DataverseSink;
  /** Drains, and turns a failure into a log line and a metric: the events wait in the outbox. */
  drainLogged(signal?: AbortSignal): Promise<void>;
}

/**
 * The Dataverse sink when AUDIT_DATAVERSE_URL is set: its own HTTP client (its own rate limit,
 * under Dataverse's service protection limits, not the Management API's quota) and its own token,
 * from the same Entra app, for the scope {environment URL}/.default. Puts the outbox into the
 * store so every pass feeds it.
 */
export function createDataverseSink(
  config: RuntimeConfig,
  storage: Storage,
  store: SyncStore,
  deps: RuntimeDeps & { metrics: Metrics; logger: Logger },
): DataverseWiring | undefined {
  if (!config.dataverseUrl) return undefined;
  const { metrics, logger } = deps;
  const http = new HttpClient({
    agent: deps.agent,
    timeoutMs: config.httpTimeoutMs,
    limiter: new RateLimiter(DATAVERSE_LIMITS.ratePerMinute),
    retry: { maxRetries: config.maxRetries, ...deps.retry },
    metrics,
    logger,
    sleep: deps.sleep,
  });
  const tokens = createTokenProvider({ ...config, audience: config.dataverseUrl }, http);
  const outbox = new DataverseOutbox(storage.table(TABLES.dataverseOutbox));
  store.dataverseOutbox = outbox;
  const sink = new DataverseSink({
    client: new DataverseClient({
      url: config.dataverseUrl,
      clientId: config.clientId,
      http,
      tokens,
    }),
    outbox,
    metrics,
    logger,
  });
  return {
    sink,
    async drainLogged(signal) {
      try {
        await sink.drain(signal);
      } catch (err) {
        if (signal?.aborted) throw err;
        metrics.inc("audit_dataverse_failures_total");
        logger.error("writing to Dataverse failed; the events wait in the outbox table", {
          error: err as Error,
          todo: "the Azure Storage archive and the reports are complete; the next pass writes the waiting events to Dataverse",
        });
      }
      try {
        metrics.set("audit_dataverse_pending", await outbox.count());
      } catch {
        // The gauge is informational; storage trouble shows in the pass itself.
      }
    },
  };
}
