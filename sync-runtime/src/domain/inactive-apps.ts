/**
 * "Which apps are stale": the report's inactiveApps, from the all-time per-app state (the apps
 * table) rather than the report window, which only holds apps active in it. Pure; the semantics
 * are the contract's (sync-runtime/src/domain/usage-report.ts, InactiveApp).
 */
import { validateStaleDays } from "./stale-days";
import type { InactiveApp } from "./usage-report";
import type { AppState } from "./app-state";

const DAY_MS = 86_400_000;

/**
 * Apps not deleted whose latest launch is at or before `to − staleDays` days (or that were never
 * launched), longest idle first. One pass over the states plus a sort of the result.
 */
export function findInactiveApps(
  states: Iterable<AppState>,
  to: Date,
  staleDays: number,
): InactiveApp[] {
  const cutoffMs = to.getTime() - validateStaleDays(staleDays) * DAY_MS;
  const inactive: { app: InactiveApp; lastMs: number }[] = [];
  for (const state of states) {
    if (state.deletedAt) continue;
    // Times in the table are ISO strings; compare instants, not text.
    const lastMs = state.lastLaunchedAt ? Date.parse(state.lastLaunchedAt) : -Infinity;
    if (lastMs > cutoffMs) continue;
    inactive.push({
      lastMs,
      app: {
        appId: state.appId,
        appName: state.appName ?? null,
        environmentId: state.environmentId ?? null,
        lastLaunchedAt: state.lastLaunchedAt ? new Date(lastMs).toISOString() : null,
        lastLaunchedBy: state.lastLaunchedAt ? (state.lastLaunchedBy ?? null) : null,
      },
    });
  }
  inactive.sort(
    (a, b) =>
      // Two never-launched apps give -Infinity - -Infinity = NaN, falsy: they fall through to appId.
      a.lastMs - b.lastMs || (a.app.appId < b.app.appId ? -1 : a.app.appId > b.app.appId ? 1 : 0),
  );
  return inactive.map(({ app }) => app);
}
