import type { PowerAppEvent } from "./records";

/**
 * What the CoE Starter Kit's audit log flows write for an event, together (microsoft/coe-starter-kit,
 * CenterofExcellenceCoreComponents/SolutionPackage/src/Workflows): "Admin | Audit Logs | Sync Audit
 * Logs (V2)" upserts one admin_auditlogs row per launch (title, creation time, app id, the
 * admin_AppLookup bind, operation, UPN, workload; its Graph path also admin_userid) and marks
 * deleted apps; "Admin | Audit Logs | Update Data (V2)", triggered by each such row, fills the
 * row's admin_appname from the app's admin_displayname, admin_appenvironment with the
 * environment's display name, admin_appispremium from the app's admin_usespremiumapi, and moves
 * admin_apps.admin_applastlaunchedon forward, and, from Office 365 Users, the user's display name,
 * city, country, department, job title and whether they are a guest. Column lengths are those of
 * Entities/admin_AuditLog/Entity.xml; a longer value is cut to fit rather than failing the row.
 */
export const AUDIT_LOGS = "admin_auditlogs";
export const APPS = "admin_apps";
export const ENVIRONMENTS = "admin_environments";

/** The admin_apps columns the sink reads. */
export const APP_COLUMNS = [
  "admin_appid",
  "admin_displayname",
  "admin_usespremiumapi",
  "admin_applastlaunchedon",
  "admin_appdeleted",
  "admin_appdeletedon",
];

const MAX = {
  admin_title: 300,
  admin_appid: 100,
  admin_appname: 300,
  admin_appenvironment: 100,
  admin_operation: 100,
  admin_workload: 300,
  admin_userupn: 300,
  admin_userid: 100,
  admin_username: 300,
  admin_usercity: 300,
  admin_usercountry: 300,
  admin_userdepartment: 300,
  admin_userjobtitle: 300,
} as const;

/** The record's CreationTime as the API wrote it (UTC, no zone, seconds): the flow's title uses it. */
export function recordCreationTime(iso: string): string {
  return iso.replace(/(\.\d+)?Z$/, "");
}

/** What admin_apps holds of an app that matters to the sink. */
export interface CoeAppState {
  lastLaunchedOn: string | null;
  deleted: boolean;
  deletedOn: string | null;
}

/** An admin_apps row as the sink reads it: its state, what the audit rows copy, its ETag. */
export interface CoeApp extends CoeAppState {
  displayName: string | null;
  usesPremiumApi: boolean | null;
  /** The row's `@odata.etag`: the update of admin_apps is conditional on it. */
  etag: string | undefined;
}

/** An admin_apps row of the Web API as a CoeApp. */
export function coeAppOf(row: Record<string, unknown>): CoeApp {
  const text = (v: unknown) => (typeof v === "string" ? v : null);
  return {
    displayName: text(row.admin_displayname),
    usesPremiumApi: typeof row.admin_usespremiumapi === "boolean" ? row.admin_usespremiumapi : null,
    lastLaunchedOn: text(row.admin_applastlaunchedon),
    deleted: row.admin_appdeleted === true,
    deletedOn: text(row.admin_appdeletedon),
    etag: text(row["@odata.etag"]) ?? undefined,
  };
}

/** What Microsoft Graph holds of a user that Update Data (V2) copies into the audit row. */
export interface CoeUser {
  displayName: string | null;
  city: string | null;
  country: string | null;
  department: string | null;
  jobTitle: string | null;
  guest: boolean;
}

/** The Graph properties a CoeUser is read from (the `$select` of GET /users/{id}). */
export const USER_PROPERTIES = [
  "id",
  "displayName",
  "city",
  "country",
  "department",
  "jobTitle",
  "userType",
] as const;

/** A Graph user resource (resources/user) as a CoeUser; a property that is not text is empty. */
export function coeUserOf(user: Record<string, unknown>): CoeUser {
  const text = (v: unknown) => (typeof v === "string" && v !== "" ? v : null);
  return {
    displayName: text(user.displayName),
    city: text(user.city),
    country: text(user.country),
    department: text(user.department),
    jobTitle: text(user.jobTitle),
    guest: user.userType === "Guest",
  };
}

/** What a launch's row is written with besides the record. */
export interface RowContext {
  /**
   * The user's details from Microsoft Graph, when the admin opted in and Graph knows the user;
   * absent (off, a deleted user, or Graph failing), the user columns stay empty.
   */
  user?: CoeUser;
  /** The app's admin_apps row; absent when admin_apps does not have the app. */
  app?: CoeApp;
  /** The environment's admin_displayname in admin_environments, when it has the environment. */
  environmentName?: string;
}

/**
 * The admin_auditlogs row of a launch, as both flows leave it. For an app admin_apps does not have
 * (the flows write no row; the sink writes one after holding it) the lookup is left out and the
 * app name is the record's own.
 */
export function auditLogRow(e: PowerAppEvent, ctx: RowContext): Record<string, unknown> {
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
  if (e.userKey !== null) row.admin_userid = cut(e.userKey, MAX.admin_userid);
  const name = ctx.app ? ctx.app.displayName : e.appName;
  if (name !== null) row.admin_appname = cut(name, MAX.admin_appname);
  if (ctx.environmentName !== undefined)
    row.admin_appenvironment = cut(ctx.environmentName, MAX.admin_appenvironment);
  if (ctx.user) Object.assign(row, userColumns(ctx.user));
  if (ctx.app) {
    row["admin_AppLookup@odata.bind"] = `${APPS}(${e.appId})`;
    if (ctx.app.usesPremiumApi !== null) row.admin_appispremium = ctx.app.usesPremiumApi;
  }
  return row;
}

/**
 * The user columns of an audit row, as Update Data (V2) fills them from Office 365 Users: a
 * property Graph has empty is left out (the row's column stays empty).
 */
export function userColumns(u: CoeUser): Record<string, unknown> {
  const columns: Record<string, unknown> = {};
  const put = (column: keyof typeof MAX, v: string | null) => {
    if (v !== null) columns[column] = cut(v, MAX[column]);
  };
  put("admin_username", u.displayName);
  put("admin_usercity", u.city);
  put("admin_usercountry", u.country);
  put("admin_userdepartment", u.department);
  put("admin_userjobtitle", u.jobTitle);
  columns.admin_userisguest = u.guest;
  return columns;
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

/** An OData `$filter` matching any of the keys: `k eq a or k eq b …` (ids are GUIDs, no quoting). */
export function keyFilter(column: string, ids: string[]): string {
  return ids.map((id) => `${column} eq ${id}`).join(" or ");
}

function cut(value: string, max: number): string {
  return value.length > max ? value.slice(0, max) : value;
}
