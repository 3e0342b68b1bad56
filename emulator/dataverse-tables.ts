/**
 * The two CoE Starter Kit tables the audit log flows write, as their solution declares them
 * (microsoft/coe-starter-kit, CenterofExcellenceCoreComponents/SolutionPackage/src/Entities/
 * admin_AuditLog/Entity.xml and admin_App/Entity.xml): column types and text MaxLength. The
 * emulator enforces them the way Dataverse does, so a client that writes a column the table does
 * not have, or a text longer than its column, fails here as it would in a real environment.
 */
export type ColumnType = "text" | "datetime" | "bool" | "int" | "guid";

export interface ColumnSpec {
  type: ColumnType;
  /** Text columns: MaxLength in characters. */
  maxLength?: number;
  /** RequiredLevel "required" in Entity.xml. */
  required?: boolean;
}

export interface LookupSpec {
  /** The single-valued navigation property a client binds with `<name>@odata.bind`. */
  navigation: string;
  /** The entity set the lookup points to. */
  target: string;
}

export interface TableSpec {
  /** Logical name of the table (the OData type is Microsoft.Dynamics.CRM.<logicalName>). */
  logicalName: string;
  /** Entity set name used in URLs. */
  entitySet: string;
  /** Primary key column: a GUID. */
  key: string;
  columns: Record<string, ColumnSpec>;
  /** Lookup columns by logical name. */
  lookups: Record<string, LookupSpec>;
  /**
   * Whether the table has the bulk messages CreateMultiple, UpdateMultiple and UpsertMultiple
   * ("Use bulk operation messages": custom standard tables have them; a client checks
   * `sdkmessagefilters` for the table before relying on them).
   */
  bulk?: boolean;
  /** Collection-valued (N:N) navigation properties: name → the entity set it relates to. */
  associations?: Record<string, string>;
}

const text = (maxLength: number): ColumnSpec => ({ type: "text", maxLength });

export const AUDIT_LOG_TABLE: TableSpec = {
  logicalName: "admin_auditlog",
  entitySet: "admin_auditlogs",
  key: "admin_auditlogid",
  columns: {
    admin_title: text(300),
    admin_creationtime: { type: "datetime", required: true },
    admin_appid: text(100),
    admin_appname: text(300),
    admin_appenvironment: text(100),
    admin_operation: text(100),
    admin_workload: text(300),
    admin_userupn: text(300),
    admin_username: text(300),
    admin_usercity: text(300),
    admin_usercountry: text(300),
    admin_userdepartment: text(300),
    admin_userjobtitle: text(300),
    admin_userid: text(100),
    admin_appispremium: { type: "bool" },
    admin_userisguest: { type: "bool" },
  },
  lookups: { admin_applookup: { navigation: "admin_AppLookup", target: "admin_apps" } },
  bulk: true,
};

/** Only the admin_app columns the audit flows read or write, plus its display name. */
export const APP_TABLE: TableSpec = {
  logicalName: "admin_app",
  entitySet: "admin_apps",
  key: "admin_appid",
  columns: {
    admin_displayname: text(200),
    admin_appenvironmentid: text(100),
    admin_applastlaunchedon: { type: "datetime" },
    admin_appdeleted: { type: "bool" },
    admin_appdeletedon: { type: "datetime" },
    admin_usespremiumapi: { type: "bool" },
  },
  lookups: {},
  bulk: true,
};

/**
 * The CoE inventory's environments (Entities/admin_Environment/Entity.xml): keyed by the
 * environment id, its display name (required, MaxLength 750) is what Update Data (V2) copies into
 * an audit row's admin_appenvironment.
 */
export const ENVIRONMENT_TABLE: TableSpec = {
  logicalName: "admin_environment",
  entitySet: "admin_environments",
  key: "admin_environmentid",
  columns: { admin_displayname: { type: "text", maxLength: 750, required: true } },
  lookups: {},
  bulk: true,
};

/**
 * The SDK messages and their per-table filters, as far as a client needs them to learn whether a
 * table has a message (the bulk-operations sample's query:
 * `sdkmessagefilters?$filter=sdkmessageid/name eq 'UpsertMultiple' and primaryobjecttypecode eq '<table>'`).
 */
export const SDK_MESSAGE_TABLE: TableSpec = {
  logicalName: "sdkmessage",
  entitySet: "sdkmessages",
  key: "sdkmessageid",
  columns: { name: text(256) },
  lookups: {},
};

export const SDK_MESSAGE_FILTER_TABLE: TableSpec = {
  logicalName: "sdkmessagefilter",
  entitySet: "sdkmessagefilters",
  key: "sdkmessagefilterid",
  columns: { primaryobjecttypecode: text(128) },
  lookups: { sdkmessageid: { navigation: "sdkmessageid", target: "sdkmessages" } },
};

export const COE_TABLES: readonly TableSpec[] = [AUDIT_LOG_TABLE, APP_TABLE, ENVIRONMENT_TABLE];

/**
 * The system tables an application user is made of ("Web API entity type reference":
 * businessunit, systemuser, role, and the N:N systemuserroles_association), as far as creating
 * one needs them: the root business unit is the one whose parent is null; an application user is
 * a systemuser with `applicationid` (the Entra app's client id) and `isdisabled`.
 */
export const BUSINESS_UNIT_TABLE: TableSpec = {
  logicalName: "businessunit",
  entitySet: "businessunits",
  key: "businessunitid",
  columns: { name: text(160) },
  lookups: {
    parentbusinessunitid: { navigation: "parentbusinessunitid", target: "businessunits" },
  },
};

export const SYSTEM_USER_TABLE: TableSpec = {
  logicalName: "systemuser",
  entitySet: "systemusers",
  key: "systemuserid",
  columns: {
    applicationid: { type: "guid" },
    azureactivedirectoryobjectid: { type: "guid" },
    fullname: text(200),
    isdisabled: { type: "bool" },
  },
  lookups: { businessunitid: { navigation: "businessunitid", target: "businessunits" } },
  associations: { systemuserroles_association: "roles" },
};

export const ROLE_TABLE: TableSpec = {
  logicalName: "role",
  entitySet: "roles",
  key: "roleid",
  columns: { name: text(100) },
  lookups: { businessunitid: { navigation: "businessunitid", target: "businessunits" } },
};

/**
 * Environment variables ("Environment variables overview"; the CoE solution's
 * environmentvariabledefinitions/*.xml): a definition by `schemaname` with a `type` (100000000
 * text, 100000001 number, 100000002 yes/no, 100000005 secret), and at most one value row bound to
 * it, which overrides the definition's `defaultvalue`.
 */
export const ENVIRONMENT_VARIABLE_DEFINITION_TABLE: TableSpec = {
  logicalName: "environmentvariabledefinition",
  entitySet: "environmentvariabledefinitions",
  key: "environmentvariabledefinitionid",
  columns: {
    schemaname: text(100),
    displayname: text(100),
    type: { type: "int" },
    defaultvalue: text(2000),
  },
  lookups: {},
};

export const ENVIRONMENT_VARIABLE_VALUE_TABLE: TableSpec = {
  logicalName: "environmentvariablevalue",
  entitySet: "environmentvariablevalues",
  key: "environmentvariablevalueid",
  columns: { schemaname: text(100), value: text(2000) },
  lookups: {
    environmentvariabledefinitionid: {
      navigation: "EnvironmentVariableDefinitionId",
      target: "environmentvariabledefinitions",
    },
  },
};

/** Tables only a user with a role that administers the environment may write. */
export const ADMIN_TABLES: readonly TableSpec[] = [
  BUSINESS_UNIT_TABLE,
  SYSTEM_USER_TABLE,
  ROLE_TABLE,
  ENVIRONMENT_VARIABLE_DEFINITION_TABLE,
  ENVIRONMENT_VARIABLE_VALUE_TABLE,
];

/** Every table the emulated environment serves. */
export const ALL_TABLES: readonly TableSpec[] = [
  ...COE_TABLES,
  SDK_MESSAGE_TABLE,
  SDK_MESSAGE_FILTER_TABLE,
  ...ADMIN_TABLES,
];
