import type { PowerAppEvent } from "./records";

/** Per-app state across all time (what "Update Data (V2)" kept): last launch and deletion. */
export interface AppState {
  appId: string;
  appName?: string;
  environmentId?: string;
  lastLaunchedAt?: string;
  lastLaunchedBy?: string;
  /** Record Id of the last launch, for the contract's tie-break. */
  lastLaunchId?: string;
  deletedAt?: string;
  nameAt?: string;
}

/**
 * Folds events into an app's state. Only ever moves forward (later launch, later name), so
 * applying the same events twice, or in any order, gives the same state.
 */
export function foldAppState(state: AppState, events: PowerAppEvent[]): AppState {
  const next = { ...state };
  for (const e of events) {
    const later = (at: string | undefined, id: string | undefined) =>
      !at || e.creationTime > at || (e.creationTime === at && e.recordId > (id ?? ""));
    if (e.appName && (!next.nameAt || e.creationTime >= next.nameAt)) {
      next.appName = e.appName;
      next.nameAt = e.creationTime;
    }
    if (e.environmentId && !next.environmentId) next.environmentId = e.environmentId;
    if (e.kind === "launch" && later(next.lastLaunchedAt, next.lastLaunchId)) {
      next.lastLaunchedAt = e.creationTime;
      next.lastLaunchedBy = e.userUpn ?? undefined;
      next.lastLaunchId = e.recordId;
    }
    if (e.kind === "delete" && (!next.deletedAt || e.creationTime > next.deletedAt)) {
      next.deletedAt = e.creationTime;
    }
  }
  return next;
}
