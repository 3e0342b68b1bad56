/**
 * The sync runtime's deployment contract: every name that whoever runs the runtime (the Pulumi
 * program, the demo, a test) and the runtime itself must agree on. It imports nothing, so the
 * Pulumi program can depend on it without pulling in any runtime code; the boundaries test allows
 * exactly this crossing. The runtime builds its own configuration table from these names, so
 * renaming one here renames it on both sides, and a test checks the Container App against it.
 */

/** How the runtime treats one environment variable. */
export interface EnvVarContract {
  /** Set by every deployment. "storage-choice": one of the two storage options must be set. */
  readonly required?: "always" | "storage-choice";
  /** Never echoed back in logs, errors or help; a deployment passes it as a secret reference. */
  readonly secret?: boolean;
}

/** Every environment variable the runtime reads, by its name. */
export const ENV = {
  AUDIT_TENANT_ID: { required: "always" },
  AUDIT_CLIENT_ID: { required: "always" },
  AUDIT_CREDENTIAL: {},
  AUDIT_CLIENT_SECRET: { secret: true },
  AUDIT_CLIENT_SECRET_VERSION: {},
  AUDIT_AUTHORITY: {},
  AUDIT_AUDIENCE: {},
  AUDIT_CONTENT_TYPES: {},
  AUDIT_SOURCE: {},
  AUDIT_GRAPH_ENDPOINT: {},
  AUDIT_GRAPH_USERS_ENDPOINT: {},
  AUDIT_GRAPH_QUERY_CONCURRENCY: {},
  AUDIT_GRAPH_DAILY_SUBMISSIONS: {},
  AUDIT_PUBLISHER_ID: {},
  AUDIT_STORAGE_CONNECTION_STRING: { required: "storage-choice", secret: true },
  AUDIT_BLOB_ENDPOINT: { required: "storage-choice" },
  AUDIT_TABLE_ENDPOINT: { required: "storage-choice" },
  AZURE_CLIENT_ID: {},
  AUDIT_FEDERATED_AUDIENCE: {},
  AUDIT_RATE_LIMIT_PER_MINUTE: {},
  AUDIT_BLOB_CONCURRENCY: {},
  AUDIT_OVERLAP_MINUTES: {},
  AUDIT_FIRST_RUN_HOURS: {},
  AUDIT_GRAPH_BACKFILL_DAYS: {},
  AUDIT_SYNC_INTERVAL_MINUTES: {},
  AUDIT_LEASE_SECONDS: {},
  AUDIT_REPORT_DAYS: {},
  AUDIT_REPORT_STALE_DAYS: {},
  AUDIT_HTTP_TIMEOUT_MS: {},
  AUDIT_MAX_RETRIES: {},
  PORT: {},
  AUDIT_LOG_LEVEL: {},
  AUDIT_DATAVERSE_URL: {},
  AUDIT_DATAVERSE_HOLD_HOURS: {},
  AUDIT_DATAVERSE_SUPPRESS_FLOWS: {},
  AUDIT_DATAVERSE_USER_DETAILS: {},
} as const satisfies Record<string, EnvVarContract>;

export type EnvName = keyof typeof ENV;

/**
 * How the runtime proves to Entra that it is the app (AUDIT_CREDENTIAL): the client secret, or
 * a managed-identity token of the user-assigned identity AZURE_CLIENT_ID presented as the client
 * assertion of a federated identity credential on the app (no secret at run time).
 */
export const RUNTIME_CREDENTIALS = ["secret", "federated"] as const;

export type RuntimeCredential = (typeof RUNTIME_CREDENTIALS)[number];

/**
 * The audience a managed-identity token must carry to be exchanged for the app's token, per
 * Azure environment (learn.microsoft.com, "Configure an application to trust a managed
 * identity"): the federated identity credential and the runtime must use the same one.
 */
export const FEDERATED_AUDIENCES = {
  public: "api://AzureADTokenExchange",
  usGovernment: "api://AzureADTokenExchangeUSGov",
} as const;

/** The environment variable names, in the order of the table above. */
export const ENV_NAMES = Object.keys(ENV) as EnvName[];

/** Port of `serve` (/healthz, /readyz, /metrics) when PORT is not set. */
export const HEALTH_PORT = 8080;

/** Azure Storage tables the runtime reads and writes. */
export const TABLES = {
  /** Per content type: content created before `syncedTo` is stored. */
  checkpoints: "checkpoints",
  /** Content blobs already processed, by content type and id. */
  contentIds: "contentids",
  /** One row per LaunchPowerApp record, by UTC day and record Id. */
  launches: "launches",
  /** One row per DeletePowerApp record, by UTC day and record Id. */
  deletes: "deletes",
  /** Per-app state across all time: last launch, deletion. */
  apps: "apps",
  /** What could no longer be fetched: old intervals and expired blobs. */
  gaps: "gaps",
  /** Events stored but not yet written to Dataverse (AUDIT_DATAVERSE_URL): the sink's own cursor. */
  dataverseOutbox: "dataverseoutbox",
  /** Events Dataverse refused for good (the sink's dead letters), with its error. */
  dataverseRejected: "dataverserejected",
  /**
   * Audit rows written without their user's details because Microsoft Graph failed
   * (AUDIT_DATAVERSE_USER_DETAILS), by user and record Id: later drains fill them in.
   */
  dataverseUserDetails: "dataverseuserdetails",
  /** Per app and UTC day: launches, unique users, last launch, deletion (what reports read). */
  rollups: "rollups",
  /** The Graph source's query submissions of the last 24 hours, and per day its query and state. */
  graphQueries: "graphqueries",
} as const;

export type TableName = (typeof TABLES)[keyof typeof TABLES];

/** Azure Storage blob containers the runtime writes. */
export const CONTAINERS = {
  /** Raw audit records as gzip-compressed NDJSON, one blob per content id. */
  rawArchive: "audit-raw",
  /** The latest rendered usage report files (serve). */
  reports: "reports",
  /** The lease blob that makes one runtime at a time the writer. */
  leases: "leases",
  /** Content blobs the API served in a form that cannot be read, as they came, with the reason. */
  quarantine: "quarantine",
} as const;

/**
 * The Management Activity API's content types (learn.microsoft.com, "Office 365 Management
 * Activity API reference", Working with the API). Power Apps events are in Audit.General.
 */
export const CONTENT_TYPES = [
  "Audit.AzureActiveDirectory",
  "Audit.Exchange",
  "Audit.SharePoint",
  "Audit.General",
  "DLP.All",
] as const;

export type ContentType = (typeof CONTENT_TYPES)[number];

/**
 * Where the runtime reads audit records: the Office 365 Management Activity API, or Microsoft
 * Graph's audit log query API (server-side filtering, up to the tenant's audit retention; not
 * offered in GCC High and DoD).
 */
export const AUDIT_SOURCES = ["managementApi", "graph"] as const;

export type AuditSource = (typeof AUDIT_SOURCES)[number];

/** The content type that carries Power Apps launches and deletes: the default to sync. */
export const POWER_APPS_CONTENT_TYPE: ContentType = "Audit.General";

/**
 * Host names of Dataverse environments per cloud (learn.microsoft.com, "Power Apps US Government"
 * service URLs, and "Datacenter regions" for the commercial crm[N] suffixes). GCC environments are
 * crm9.dynamics.com, which a commercial tenant never has. Keys are the Pulumi stack's `cloud`.
 */
export const DATAVERSE_HOSTS = {
  commercial: /^[a-z0-9][a-z0-9-]*\.crm(?!9\.)\d*\.dynamics\.com$/i,
  gcc: /^[a-z0-9][a-z0-9-]*\.crm9\.dynamics\.com$/i,
  gcchigh: /^[a-z0-9][a-z0-9-]*\.crm\.microsoftdynamics\.us$/i,
  dod: /^[a-z0-9][a-z0-9-]*\.crm\.appsplatform\.us$/i,
} as const;

/** The Management Activity API root of each cloud: how the runtime knows its cloud. */
export const AUDIENCE_OF_CLOUD: Record<keyof typeof DATAVERSE_HOSTS, string> = {
  commercial: "https://manage.office.com",
  gcc: "https://manage-gcc.office.com",
  gcchigh: "https://manage.office365.us",
  dod: "https://manage.protection.apps.mil",
};

/**
 * The Microsoft Graph root of each cloud's tenants (learn.microsoft.com/graph/deployments,
 * "Microsoft Graph and Graph Explorer service root endpoints": GCC keeps the global service, GCC
 * High is US Government L4, DoD is L5), where the runtime reads users. Every cloud has its users
 * there, even where the audit log query API is not offered.
 */
export const GRAPH_OF_CLOUD: Record<keyof typeof DATAVERSE_HOSTS, string> = {
  commercial: "https://graph.microsoft.com",
  gcc: "https://graph.microsoft.com",
  gcchigh: "https://graph.microsoft.us",
  dod: "https://dod-graph.microsoft.us",
};

export type DataverseCloud = keyof typeof DATAVERSE_HOSTS;

/**
 * Log events the deployment's alert rules match. A log line that signals one of these carries
 * the field `"event": <value>` (the message text may change; the event name may not), so a
 * scheduled query over the Container App's console log can find it with
 * `Log_s has '"event":"<value>"'`. Renaming one here renames it on both sides.
 */
export const LOG_EVENTS = {
  /** A pass finished (every content type synced; its counts in the line). */
  passCompleted: "pass.completed",
  /** A pass failed as a whole; the next one retries from the checkpoint. */
  passFailed: "pass.failed",
  /**
   * Records lost for good: an interval older than the source holds (either source), content that
   * expired before it was fetched, or content refused because its contentUri left the API's origin.
   */
  gapRecorded: "gap.recorded",
  /** A content blob the API served in a form that cannot be read, kept aside as it came. */
  contentQuarantined: "content.quarantined",
  /** A content listing whose next page could not be followed. */
  listingCut: "listing.cut",
  /** A row Dataverse refused for good, moved to the dead letters. */
  dataverseRejected: "dataverse.rejected",
} as const;

export type LogEvent = (typeof LOG_EVENTS)[keyof typeof LOG_EVENTS];
