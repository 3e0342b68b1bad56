import type { PowerAppEvent } from "./records";

/**
 * What the CoE Starter Kit's "Admin | Audit Logs | Sync Audit Logs (V2)" flow writes for an event
 * (microsoft/coe-starter-kit, CenterofExcellenceCoreComponents/SolutionPackage/src/Workflows/
 * AdminAuditLogsSyncAuditLogsV2-BCCF2957-….json, actions UpsertAuditLogEvent and
 * Mark_Power_App_record_deleted), with the columns "Update Data (V2)" fills from the same record
 * (admin_appname, admin_appenvironment). Column lengths are those of
 * Entities/admin_AuditLog/Entity.xml; a longer value is cut to fit rather than failing the row.
 */
export const AUDIT_LOGS = "admin_auditlogs";
export const APPS = "admin_apps";

const MAX = {
  admin_title: 300,
  admin_appid: 100,
  admin_appname: 300,
  admin_appenvironment: 100,
  admin_operation: 100,
  admin_workload: 300,
  admin_userupn: 300,
} as const;

/** The record's CreationTime as the API wrote it (UTC, no zone, seconds): the flow's title uses it. */
export function recordCreationTime(iso: string): string {
  return iso.replace(/(\.\d+)?Z$/, "");
}

/** The admin_auditlogs row of a launch; `appKnown` adds the lookup, as the flow's bind does. */
export function auditLogRow(e: PowerAppEvent, appKnown: boolean): Record<string, unknown> {
  const created = recordCreationTime(e.creationTime);
  const row: Record<string, unknown> = {
    admin_title: cut(`Power App Launch ${e.appId} - ${created}`, MAX.admin_title),
    admin_creationtime: `${created}Z`,
    admin_appid: cut(e.appId, MAX.admin_appid),
    admin_operation: "LaunchPowerApp",
    // The record's Workload: the current schema says PowerPlatform, the older one PowerApps.
    admin_workload: e.schema === "legacy" ? "PowerApps" : "PowerPlatform",
  };
  if (e.userUpn !== null) row.admin_userupn = cut(e.userUpn, MAX.admin_userupn);
  if (e.appName !== null) row.admin_appname = cut(e.appName, MAX.admin_appname);
  if (e.environmentId !== null)
    row.admin_appenvironment = cut(e.environmentId, MAX.admin_appenvironment);
  if (appKnown) row["admin_AppLookup@odata.bind"] = `${APPS}(${e.appId})`;
  return row;
}

/** What admin_apps holds of an app that matters to the sink. */
export interface CoeAppState {
  lastLaunchedOn: string | null;
  deleted: boolean;
  deletedOn: string | null;
}

/**
 * The admin_apps change an app's new events call for, or undefined when there is none: the last
 * launch only moves forward (as "Update Data (V2)" does), a delete sets admin_appdeleted and
 * admin_appdeletedon (the latest delete's time). Writing it twice changes nothing.
 */
export function appUpdate(
  state: CoeAppState,
  events: PowerAppEvent[],
): { body: Record<string, unknown>; next: CoeAppState } | undefined {
  const body: Record<string, unknown> = {};
  const next = { ...state };
  const latest = (kind: "launch" | "delete") =>
    events
      .filter((e) => e.kind === kind)
      .map((e) => `${recordCreationTime(e.creationTime)}Z`)
      .sort()
      .at(-1);
  const launched = latest("launch");
  if (
    launched &&
    (!state.lastLaunchedOn || Date.parse(launched) > Date.parse(state.lastLaunchedOn))
  ) {
    body.admin_applastlaunchedon = launched;
    next.lastLaunchedOn = launched;
  }
  const deleted = latest("delete");
  if (
    deleted &&
    (!state.deleted || !state.deletedOn || Date.parse(deleted) > Date.parse(state.deletedOn))
  ) {
    body.admin_appdeleted = true;
    body.admin_appdeletedon = deleted;
    next.deleted = true;
    next.deletedOn = deleted;
  }
  return Object.keys(body).length ? { body, next } : undefined;
}

function cut(value: string, max: number): string {
  return value.length > max ? value.slice(0, max) : value;
}
