import type { ActivityApi } from "../clients/activity-api";
import type { Logger } from "../core/log";

/**
 * Makes sure every configured content type has an enabled subscription: one list call, and a
 * start only for those missing (the docs ask to space out repeated starts; this never repeats one
 * within a pass, and a serve loop only gets here once per interval).
 */
export async function ensureSubscriptions(
  api: ActivityApi,
  contentTypes: string[],
  logger: Logger,
  signal?: AbortSignal,
): Promise<void> {
  const current = await api.listSubscriptions({ signal });
  const enabled = new Set(
    current.filter((s) => String(s.status).toLowerCase() === "enabled").map((s) => s.contentType),
  );
  for (const contentType of contentTypes) {
    if (enabled.has(contentType)) continue;
    const result = await api.startSubscription(contentType, { signal });
    logger.info("subscription started", { contentType, result });
  }
}
