import {
  AUDIENCE_OF_CLOUD,
  AUDIT_SOURCES,
  CONTENT_TYPES,
  ENV,
  ENV_NAMES,
  FEDERATED_AUDIENCES,
  GRAPH_OF_CLOUD,
  HEALTH_PORT,
  POWER_APPS_CONTENT_TYPE,
  RUNTIME_CREDENTIALS,
  type AuditSource,
  type DataverseCloud,
  type EnvName,
  type RuntimeCredential,
} from "../../contract";
import type { ClientCredential } from "../clients/auth";
import { ConfigError } from "../core/errors";
import { LOG_LEVELS, type LogLevel } from "../core/log";
import type { StorageConfig } from "../storage/account";
import { dataverseUrlProblem } from "../domain/dataverse-url";

/**
 * Every environment variable the runtime reads, in one table. The names, and which are required
 * or secret, come from the deployment contract (sync-runtime/contract.ts) the Pulumi program also
 * reads; what each means and its default are here. `--help` and docs/configuration.md are
 * generated from this table and `loadConfig` validates against it, so none of them can drift
 * apart.
 */
export interface VariableSpec {
  name: EnvName;
  description: string;
  /** Shown in help; also the value used when unset (for optional variables). */
  default?: string;
  required?: "always" | "storage-choice";
  /** Never echoed back in errors or logs. */
  secret?: boolean;
}

type VariableDoc = Pick<VariableSpec, "description" | "default">;

/** Meaning and default of each contract variable: the Record type makes a missing one an error. */
const DOCS: Record<EnvName, VariableDoc> = {
  AUDIT_TENANT_ID: { description: "Entra tenant id (GUID) whose audit log is read." },
  AUDIT_CLIENT_ID: { description: "Application (client) id of the app with ActivityFeed.Read." },
  AUDIT_CREDENTIAL: {
    description:
      "How the runtime signs in as the app: secret (AUDIT_CLIENT_SECRET) or federated (a managed-identity token of AZURE_CLIENT_ID as the client assertion of the app's federated identity credential: no secret at run time). Default: secret when AUDIT_CLIENT_SECRET is set, else federated; exactly one credential may be given.",
  },
  AUDIT_CLIENT_SECRET: {
    description:
      "Client secret VALUE (not its id) of that app, with AUDIT_CREDENTIAL=secret; must be unset with federated.",
  },
  AUDIT_CLIENT_SECRET_VERSION: {
    description:
      "Version of the client secret the deployment passed (the Key Vault secret version); logged at start so an operator sees which secret a revision runs with.",
  },
  AUDIT_AUTHORITY: {
    default: "https://login.windows.net",
    description:
      "Token authority root; the runtime uses {authority}/{tenant}. GCC High/DoD: https://login.microsoftonline.us.",
  },
  AUDIT_AUDIENCE: {
    default: "https://manage.office.com",
    description:
      "API root and token audience (scope {audience}/.default). GCC: https://manage-gcc.office.com, GCC High: https://manage.office365.us, DoD: https://manage.protection.apps.mil.",
  },
  AUDIT_CONTENT_TYPES: {
    default: POWER_APPS_CONTENT_TYPE,
    description: "Comma-separated content types to subscribe to and sync.",
  },
  AUDIT_SOURCE: {
    default: "managementApi",
    description:
      "Where audit records are read: managementApi (Office 365 Management Activity API, 7 days back, every cloud) or graph (Microsoft Graph audit log queries, filtered on the server, back to the audit retention of 180 days; commercial and GCC only). `once --source graph --gaps` fills recorded gaps from Graph either way.",
  },
  AUDIT_GRAPH_ENDPOINT: {
    default: "https://graph.microsoft.com",
    description:
      "Microsoft Graph root and token audience (scope {endpoint}/.default) for the graph source. Commercial and GCC: https://graph.microsoft.com; the audit log query API is not offered in GCC High or DoD.",
  },
  AUDIT_GRAPH_USERS_ENDPOINT: {
    description:
      "Microsoft Graph root and token audience where AUDIT_DATAVERSE_USER_DETAILS reads users: the Graph of the tenant's cloud, which GCC High (https://graph.microsoft.us) and DoD (https://dod-graph.microsoft.us) have although they lack the audit log query API. Default: the Graph of AUDIT_AUDIENCE's cloud, or AUDIT_GRAPH_ENDPOINT when AUDIT_AUDIENCE is none of Microsoft's.",
  },
  AUDIT_GRAPH_QUERY_CONCURRENCY: {
    default: "10",
    description:
      "graph source: the most audit log queries queued or running at once (1-50), halved when Graph answers 429 and raised again slowly. Each tenant may have at least 50 (learn.microsoft.com/graph/throttling-limits#security-audit-log-query-service-limits); 10 leaves the rest to Purview searches and other apps, and already makes a 180-day backfill about ten times faster than one query at a time.",
  },
  AUDIT_GRAPH_DAILY_SUBMISSIONS: {
    default: "150",
    description:
      "graph source: the most audit log queries the runtime submits in any 24 hours (1-10000), counted in Azure Storage so a restart remembers them. Each tenant may submit at least 200 (learn.microsoft.com/graph/throttling-limits#security-audit-log-query-service-limits) and shares them with Purview audit searches and other apps; 150 leaves 50 to those. An hourly pass needs about 24 a day; a backfill longer than the rest stops with its checkpoint kept and goes on once submissions age out. Raise it when the tenant's allocation is larger.",
  },
  AUDIT_PUBLISHER_ID: {
    description:
      "PublisherIdentifier sent on every call (gives the tenant its own quota). Default: the tenant id.",
  },
  AUDIT_STORAGE_CONNECTION_STRING: {
    description:
      "Azure Storage connection string (development, e.g. Azurite). Either this or the two endpoints below.",
  },
  AUDIT_BLOB_ENDPOINT: {
    description: "Blob endpoint, e.g. https://acct.blob.core.windows.net (managed identity).",
  },
  AUDIT_TABLE_ENDPOINT: {
    description: "Table endpoint, e.g. https://acct.table.core.windows.net (managed identity).",
  },
  AZURE_CLIENT_ID: {
    description:
      "Client id of the user-assigned managed identity: the storage endpoints' identity (required with them), and with AUDIT_CREDENTIAL=federated the identity whose token signs the runtime in as the app (required then).",
  },
  AUDIT_FEDERATED_AUDIENCE: {
    default: FEDERATED_AUDIENCES.public,
    description: `With AUDIT_CREDENTIAL=federated: the audience of the managed-identity token, which must equal the audience of the app's federated identity credential. Azure Government: ${FEDERATED_AUDIENCES.usGovernment} (the default when AUDIT_AUTHORITY is login.microsoftonline.us).`,
  },
  AUDIT_RATE_LIMIT_PER_MINUTE: {
    default: "1800",
    description:
      "Requests per minute the runtime allows itself (90% of the 2,000/min tenant quota).",
  },
  AUDIT_BLOB_CONCURRENCY: {
    default: "32",
    description:
      "The most content blobs downloaded and processed at the same time. Within it the runtime keeps as many in flight as the rate limit and the observed time per blob call for (Little's law), fewer after throttling; the memory budget separately limits how many big blobs are read at once.",
  },
  AUDIT_OVERLAP_MINUTES: {
    default: "360",
    description:
      "Each pass re-lists this much before the checkpoint, to catch content listed late (blobs already processed are skipped by content id).",
  },
  AUDIT_FIRST_RUN_HOURS: {
    default: "168",
    description:
      "How far back the first Management API pass starts when there is no checkpoint (at most 168): by default all 7 days the API still holds, paced by the rate limit.",
  },
  AUDIT_GRAPH_BACKFILL_DAYS: {
    default: "30",
    description:
      "AUDIT_SOURCE=graph: how far back the first pass starts when there is no Graph checkpoint (1-180, the audit retention).",
  },
  AUDIT_SYNC_INTERVAL_MINUTES: {
    default: "60",
    description:
      "serve: minutes between the start of passes (a pass never overlaps the previous one).",
  },
  AUDIT_LEASE_SECONDS: {
    default: "30",
    description:
      "Length of the one-writer lease (15-60, renewed every third of it while a pass runs). A runtime killed mid-pass holds it until it runs out; the next pass waits that long at most.",
  },
  AUDIT_REPORT_DAYS: {
    default: "7",
    description:
      "serve: days covered by the report files written to the reports container after each pass.",
  },
  AUDIT_REPORT_STALE_DAYS: {
    default: "30",
    description:
      "serve: the report files list apps not launched for this many days (all time, from the apps table).",
  },
  AUDIT_HTTP_TIMEOUT_MS: {
    default: "120000",
    description: "Timeout of one HTTP request, body included.",
  },
  AUDIT_MAX_RETRIES: {
    default: "6",
    description:
      "Retries of one request after 5xx, network errors or throttling (jittered backoff; Retry-After wins).",
  },
  PORT: {
    default: String(HEALTH_PORT),
    description: "serve: port of /healthz, /readyz and /metrics.",
  },
  AUDIT_LOG_LEVEL: {
    default: "info",
    description:
      "debug, info, warn or error. Logs are JSON lines on stderr; secrets are never logged.",
  },
  AUDIT_DATAVERSE_URL: {
    description:
      "Dataverse environment URL of the CoE Starter Kit (e.g. https://contoso.crm.dynamics.com): when set, launches and deletes are also written to its admin_auditlogs/admin_apps tables, as the Sync Audit Logs (V2) and Update Data (V2) flows do, history stored before included. Must match the cloud of AUDIT_AUDIENCE.",
  },
  AUDIT_DATAVERSE_HOLD_HOURS: {
    default: "48",
    description:
      "Hours a launch of an app not (yet) in admin_apps waits for the CoE inventory flows to add it (checked every pass), to be written with the app lookup; after that it is written without (0-720).",
  },
  AUDIT_DATAVERSE_SUPPRESS_FLOWS: {
    default: "false",
    description:
      "true: the Dataverse writes carry MSCRM.SuppressCallbackRegistrationExpanderJob, so they trigger no Power Automate flow (turn Sync Audit Logs and Update Data off: the runtime fills their columns).",
  },
  AUDIT_DATAVERSE_USER_DETAILS: {
    default: "false",
    description:
      "true: the Dataverse sink fills each audit row's user details (display name, city, country, department, job title, guest) from Microsoft Graph, as Update Data (V2) does from Office 365 Users; needs the Graph application permission User.Read.All (stack config dataverseUserDetails grants it). Read in batches, cached 24 h; a Graph failure leaves the details empty, never the rows.",
  },
};

export const VARIABLES: readonly VariableSpec[] = ENV_NAMES.map((name) => ({
  name,
  ...(ENV[name] as Pick<VariableSpec, "required" | "secret">),
  ...DOCS[name],
}));

export interface RuntimeConfig {
  tenantId: string;
  clientId: string;
  /** The client secret, or the managed identity whose token is the federated client assertion. */
  credential: ClientCredential;
  /** Informational: which secret version the deployment passed (logged, never the secret). */
  clientSecretVersion?: string;
  authority: string;
  audience: string;
  contentTypes: string[];
  /** managementApi or graph (see AUDIT_SOURCE). */
  source: AuditSource;
  /** Microsoft Graph root, for the graph source and gap fills. */
  graphEndpoint: string;
  /** false in GCC High and DoD, which have no audit log query API. */
  graphAvailable: boolean;
  /** Microsoft Graph root where user details are read (AUDIT_GRAPH_USERS_ENDPOINT). */
  graphUsersEndpoint: string;
  /** Graph audit log queries queued or running at once (AUDIT_GRAPH_QUERY_CONCURRENCY). */
  graphQueryConcurrency: number;
  /** Graph audit log query submissions per rolling 24 hours (AUDIT_GRAPH_DAILY_SUBMISSIONS). */
  graphDailySubmissions: number;
  publisherId: string;
  storage: StorageConfig;
  rateLimitPerMinute: number;
  blobConcurrency: number;
  overlapMs: number;
  firstRunMs: number;
  /** The graph source's first pass (AUDIT_GRAPH_BACKFILL_DAYS). */
  graphFirstRunMs: number;
  syncIntervalMs: number;
  leaseSeconds: number;
  reportDays: number;
  reportStaleDays: number;
  httpTimeoutMs: number;
  maxRetries: number;
  port: number;
  logLevel: LogLevel;
  /** The CoE environment's URL without trailing slash, when the Dataverse sink is on. */
  dataverseUrl?: string;
  /** How long a launch of an app missing from admin_apps is held (AUDIT_DATAVERSE_HOLD_HOURS). */
  dataverseHoldMs: number;
  /** Send the header that keeps Dataverse from triggering flows on the sink's writes. */
  dataverseSuppressFlows: boolean;
  /** Fill the audit rows' user details from Microsoft Graph (AUDIT_DATAVERSE_USER_DETAILS). */
  dataverseUserDetails: boolean;
}

const STORAGE_ENDPOINTS: EnvName[] = ["AUDIT_BLOB_ENDPOINT", "AUDIT_TABLE_ENDPOINT"];

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type Env = Record<string, string | undefined>;

/**
 * Reads single variables of the table, each check throwing a ConfigError that names the
 * variable, repeats its meaning and says what to set.
 */
class EnvReader {
  constructor(private readonly env: Env) {}

  get(name: EnvName): string | undefined {
    const v = this.env[name]?.trim();
    return v ? v : undefined;
  }

  required(name: EnvName): string {
    const v = this.get(name);
    if (v === undefined) {
      throw new ConfigError(
        name,
        `${name} is not set: ${DOCS[name].description} Set it in the environment (see \`npm run sync -- --help\`).`,
      );
    }
    return v;
  }

  withDefault(name: EnvName): string {
    return this.get(name) ?? DOCS[name].default!;
  }

  int(name: EnvName, min: number, max: number): number {
    const raw = this.withDefault(name);
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new ConfigError(
        name,
        `${name}=${raw} is not an integer between ${min} and ${max}: ${DOCS[name].description}`,
      );
    }
    return n;
  }

  bool(name: EnvName): boolean {
    const raw = this.withDefault(name).toLowerCase();
    if (raw !== "true" && raw !== "false") {
      throw new ConfigError(name, `${name}=${raw} is not true or false: ${DOCS[name].description}`);
    }
    return raw === "true";
  }

  /** An https URL without trailing slashes; storage endpoints may be http (Azurite). */
  url(name: EnvName, value: string): string {
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch (cause) {
      throw new ConfigError(name, `${name}=${value} is not a URL: ${DOCS[name].description}`, {
        cause,
      });
    }
    if (
      parsed.protocol !== "https:" &&
      // Only the storage endpoints may be http (Azurite); a bearer token never goes over http.
      !(STORAGE_ENDPOINTS.includes(name) && parsed.protocol === "http:")
    ) {
      throw new ConfigError(
        name,
        `${name}=${value} must be an https:// URL: ${DOCS[name].description}`,
      );
    }
    return value.replace(/\/+$/, "");
  }

  guid(name: EnvName, value: string): string {
    if (!GUID.test(value)) {
      throw new ConfigError(
        name,
        `${name}=${value} is not a GUID: ${DOCS[name].description} Find it on the app's Overview page in Entra ID.`,
      );
    }
    return value;
  }
}

/** Reads and validates the whole configuration; the first problem found is thrown as ConfigError. */
export function loadConfig(env: Env = process.env): RuntimeConfig {
  const read = new EnvReader(env);
  const tenantId = read.guid("AUDIT_TENANT_ID", read.required("AUDIT_TENANT_ID"));
  return {
    tenantId,
    clientId: read.guid("AUDIT_CLIENT_ID", read.required("AUDIT_CLIENT_ID")),
    authority: read.url("AUDIT_AUTHORITY", read.withDefault("AUDIT_AUTHORITY")),
    // After the authority: the federated audience's default depends on its cloud.
    credential: readCredential(read),
    clientSecretVersion: read.get("AUDIT_CLIENT_SECRET_VERSION"),
    audience: read.url("AUDIT_AUDIENCE", read.withDefault("AUDIT_AUDIENCE")),
    contentTypes: readContentTypes(read),
    ...readGraphSource(read),
    graphUsersEndpoint: readGraphUsersEndpoint(read),
    // Graph's baseline allocation: at least 50 queued or running queries per tenant.
    graphQueryConcurrency: read.int("AUDIT_GRAPH_QUERY_CONCURRENCY", 1, 50),
    graphDailySubmissions: read.int("AUDIT_GRAPH_DAILY_SUBMISSIONS", 1, 10_000),
    publisherId: read.guid("AUDIT_PUBLISHER_ID", read.get("AUDIT_PUBLISHER_ID") ?? tenantId),
    storage: readStorageConfig(read),
    rateLimitPerMinute: read.int("AUDIT_RATE_LIMIT_PER_MINUTE", 1, 100_000),
    blobConcurrency: read.int("AUDIT_BLOB_CONCURRENCY", 1, 64),
    overlapMs: read.int("AUDIT_OVERLAP_MINUTES", 0, 24 * 60) * 60_000,
    firstRunMs: read.int("AUDIT_FIRST_RUN_HOURS", 1, 168) * 3_600_000,
    graphFirstRunMs: read.int("AUDIT_GRAPH_BACKFILL_DAYS", 1, 180) * 86_400_000,
    syncIntervalMs: read.int("AUDIT_SYNC_INTERVAL_MINUTES", 1, 24 * 60) * 60_000,
    // Azure Storage leases last 15 to 60 seconds (or forever, which a crash would never free).
    leaseSeconds: read.int("AUDIT_LEASE_SECONDS", 15, 60),
    reportDays: read.int("AUDIT_REPORT_DAYS", 1, 366),
    reportStaleDays: read.int("AUDIT_REPORT_STALE_DAYS", 1, 3660),
    httpTimeoutMs: read.int("AUDIT_HTTP_TIMEOUT_MS", 1_000, 3_600_000),
    maxRetries: read.int("AUDIT_MAX_RETRIES", 0, 20),
    port: read.int("PORT", 0, 65_535),
    logLevel: readLogLevel(read),
    dataverseUrl: readDataverseUrl(read),
    dataverseHoldMs: read.int("AUDIT_DATAVERSE_HOLD_HOURS", 0, 720) * 3_600_000,
    dataverseSuppressFlows: read.bool("AUDIT_DATAVERSE_SUPPRESS_FLOWS"),
    dataverseUserDetails: read.bool("AUDIT_DATAVERSE_USER_DETAILS"),
  };
}

function readDataverseUrl(read: EnvReader): string | undefined {
  const raw = read.get("AUDIT_DATAVERSE_URL");
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch (cause) {
    throw new ConfigError(
      "AUDIT_DATAVERSE_URL",
      `AUDIT_DATAVERSE_URL=${raw} is not a URL: copy the Environment URL of the CoE environment from the Power Platform admin center.`,
      { cause },
    );
  }
  const problem = dataverseUrlProblem(url, read.withDefault("AUDIT_AUDIENCE"));
  if (problem)
    throw new ConfigError(
      "AUDIT_DATAVERSE_URL",
      `AUDIT_DATAVERSE_URL=${raw} is refused: ${problem}.`,
    );
  return url.origin;
}

/**
 * Exactly one credential: the secret, or the federated assertion of a user-assigned identity.
 * AUDIT_CREDENTIAL may be left out (the secret if one is set, else federated), but a setting that
 * contradicts it is an error rather than a silent choice, so a deployment that still passes a
 * secret it believes unused is told so.
 */
function readCredential(read: EnvReader): ClientCredential {
  const secret = read.get("AUDIT_CLIENT_SECRET");
  const raw = read.get("AUDIT_CREDENTIAL");
  if (raw !== undefined && !(RUNTIME_CREDENTIALS as readonly string[]).includes(raw)) {
    throw new ConfigError(
      "AUDIT_CREDENTIAL",
      `AUDIT_CREDENTIAL=${raw} is not one of ${RUNTIME_CREDENTIALS.join(", ")}: ${DOCS.AUDIT_CREDENTIAL.description}`,
    );
  }
  const kind: RuntimeCredential =
    (raw as RuntimeCredential | undefined) ?? (secret ? "secret" : "federated");
  if (kind === "secret") {
    if (secret === undefined) {
      throw new ConfigError(
        "AUDIT_CLIENT_SECRET",
        "AUDIT_CREDENTIAL=secret but AUDIT_CLIENT_SECRET is not set: set the secret VALUE (or let `pulumi up` store it in Key Vault), or use AUDIT_CREDENTIAL=federated with AZURE_CLIENT_ID (stack config `runtimeCredential: federated`).",
      );
    }
    // A pasted secret *id* is a GUID; a secret value never is. Catch the classic mistake early.
    if (GUID.test(secret)) {
      throw new ConfigError(
        "AUDIT_CLIENT_SECRET",
        "AUDIT_CLIENT_SECRET looks like a secret ID (a GUID), not the secret VALUE. Copy the value shown once when the secret was created (or let `pulumi up` store it in Key Vault).",
      );
    }
    return { kind: "secret", secret };
  }
  if (secret !== undefined) {
    throw new ConfigError(
      "AUDIT_CLIENT_SECRET",
      "AUDIT_CREDENTIAL=federated but AUDIT_CLIENT_SECRET is set as well: the runtime uses exactly one credential. Remove AUDIT_CLIENT_SECRET from the runtime's environment (the federated credential needs no secret), or set AUDIT_CREDENTIAL=secret.",
    );
  }
  const identityClientId = read.get("AZURE_CLIENT_ID");
  if (identityClientId === undefined) {
    throw new ConfigError(
      "AZURE_CLIENT_ID",
      raw === undefined
        ? "No credential: set AUDIT_CLIENT_SECRET (the app's secret VALUE), or AZURE_CLIENT_ID (the user-assigned managed identity that the app trusts through a federated identity credential, AUDIT_CREDENTIAL=federated)."
        : "AUDIT_CREDENTIAL=federated needs AZURE_CLIENT_ID: the client id of the user-assigned managed identity that the app's federated identity credential trusts.",
    );
  }
  return {
    kind: "federated",
    identityClientId: read.guid("AZURE_CLIENT_ID", identityClientId),
    audience: readFederatedAudience(read),
  };
}

/** The token exchange audience: given, or the one of the authority's Azure environment. */
function readFederatedAudience(read: EnvReader): string {
  const given = read.get("AUDIT_FEDERATED_AUDIENCE");
  if (given === undefined) {
    const authorityHost = new URL(read.withDefault("AUDIT_AUTHORITY")).host.toLowerCase();
    return authorityHost.endsWith(".us")
      ? FEDERATED_AUDIENCES.usGovernment
      : FEDERATED_AUDIENCES.public;
  }
  // An audience is a URI (api://…); a stray scope suffix would make every exchange fail.
  if (!/^[a-z][a-z0-9+.-]*:\/\/\S+$/i.test(given) || given.endsWith("/.default")) {
    throw new ConfigError(
      "AUDIT_FEDERATED_AUDIENCE",
      `AUDIT_FEDERATED_AUDIENCE=${given} is not an audience URI (without /.default): ${DOCS.AUDIT_FEDERATED_AUDIENCE.description}`,
    );
  }
  return given;
}

function readContentTypes(read: EnvReader): string[] {
  const contentTypes = read
    .withDefault("AUDIT_CONTENT_TYPES")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const allowed = CONTENT_TYPES.join(", ");
  if (contentTypes.length === 0) {
    throw new ConfigError(
      "AUDIT_CONTENT_TYPES",
      `AUDIT_CONTENT_TYPES is empty: list one or more of ${allowed}.`,
    );
  }
  for (const ct of contentTypes) {
    if (!(CONTENT_TYPES as readonly string[]).includes(ct)) {
      throw new ConfigError(
        "AUDIT_CONTENT_TYPES",
        `AUDIT_CONTENT_TYPES has unknown content type "${ct}": allowed are ${allowed}.`,
      );
    }
  }
  return [...new Set(contentTypes)];
}

/**
 * Microsoft Graph's audit log query API exists in the global service only (learn.microsoft.com,
 * graph/api/security-auditcoreroot-post-auditlogqueries: national cloud deployments): GCC High
 * and DoD answer "Resource not found for the segment 'auditLog'". Their hosts, for the
 * Management API and Graph, tell the cloud apart.
 */
const US_GOVERNMENT_HOSTS = [
  "manage.office365.us",
  "manage.protection.apps.mil",
  "graph.microsoft.us",
  "dod-graph.microsoft.us",
];

function readGraphSource(
  read: EnvReader,
): Pick<RuntimeConfig, "source" | "graphEndpoint" | "graphAvailable"> {
  const source = read.withDefault("AUDIT_SOURCE") as AuditSource;
  if (!AUDIT_SOURCES.includes(source)) {
    throw new ConfigError(
      "AUDIT_SOURCE",
      `AUDIT_SOURCE=${source} is not one of ${AUDIT_SOURCES.join(", ")}.`,
    );
  }
  const graphEndpoint = read.url("AUDIT_GRAPH_ENDPOINT", read.withDefault("AUDIT_GRAPH_ENDPOINT"));
  const audience = read.withDefault("AUDIT_AUDIENCE");
  const govHost = [audience, graphEndpoint]
    .map((u) => new URL(u).host.toLowerCase())
    .find((h) => US_GOVERNMENT_HOSTS.includes(h));
  if (source === "graph" && govHost) {
    throw new ConfigError(
      "AUDIT_SOURCE",
      `AUDIT_SOURCE=graph is not available in GCC High or DoD (${govHost}): Microsoft Graph's audit log query API is offered in the global service only and answers "Resource not found for the segment 'auditLog'" there. Set AUDIT_SOURCE=managementApi (the stack config \`source: managementApi\`).`,
    );
  }
  return { source, graphEndpoint, graphAvailable: govHost === undefined };
}

/**
 * Where users are read: given, or the Graph of the Management API's cloud (AUDIT_AUDIENCE), or
 * AUDIT_GRAPH_ENDPOINT for an audience that is none of Microsoft's (an emulator). A Graph of
 * another cloud than the audience's is refused: its tokens and users are not the tenant's
 * (learn.microsoft.com/graph/deployments: "Access tokens acquired for a national cloud
 * deployment are not interchangeable").
 */
function readGraphUsersEndpoint(read: EnvReader): string {
  const audience = read.withDefault("AUDIT_AUDIENCE").replace(/\/+$/, "").toLowerCase();
  const cloud = (Object.keys(AUDIENCE_OF_CLOUD) as DataverseCloud[]).find(
    (c) => AUDIENCE_OF_CLOUD[c] === audience,
  );
  const given = read.get("AUDIT_GRAPH_USERS_ENDPOINT");
  const endpoint = read.url(
    "AUDIT_GRAPH_USERS_ENDPOINT",
    given ?? (cloud ? GRAPH_OF_CLOUD[cloud] : read.withDefault("AUDIT_GRAPH_ENDPOINT")),
  );
  const host = new URL(endpoint).host.toLowerCase();
  const graphHosts = Object.values(GRAPH_OF_CLOUD).map((g) => new URL(g).host);
  if (cloud && graphHosts.includes(host) && new URL(GRAPH_OF_CLOUD[cloud]).host !== host)
    throw new ConfigError(
      "AUDIT_GRAPH_USERS_ENDPOINT",
      `AUDIT_GRAPH_USERS_ENDPOINT=${endpoint} is another cloud's Microsoft Graph than the tenant's (AUDIT_AUDIENCE=${audience}): set ${GRAPH_OF_CLOUD[cloud]}, or leave it unset for that default.`,
    );
  return endpoint;
}

function readLogLevel(read: EnvReader): LogLevel {
  const logLevel = read.withDefault("AUDIT_LOG_LEVEL") as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(
      "AUDIT_LOG_LEVEL",
      `AUDIT_LOG_LEVEL=${logLevel} is not one of ${LOG_LEVELS.join(", ")}.`,
    );
  }
  return logLevel;
}

function readStorageConfig(read: EnvReader): StorageConfig {
  const connectionString = read.get("AUDIT_STORAGE_CONNECTION_STRING");
  const blobEndpoint = read.get("AUDIT_BLOB_ENDPOINT");
  const tableEndpoint = read.get("AUDIT_TABLE_ENDPOINT");
  if (connectionString) {
    if (blobEndpoint || tableEndpoint) {
      throw new ConfigError(
        "AUDIT_STORAGE_CONNECTION_STRING",
        "Both AUDIT_STORAGE_CONNECTION_STRING and AUDIT_BLOB_ENDPOINT/AUDIT_TABLE_ENDPOINT are set: set only one storage option.",
      );
    }
    return { kind: "connection-string", connectionString };
  }
  if (!blobEndpoint || !tableEndpoint) {
    const missing =
      !blobEndpoint && !tableEndpoint
        ? "AUDIT_STORAGE_CONNECTION_STRING"
        : !blobEndpoint
          ? "AUDIT_BLOB_ENDPOINT"
          : "AUDIT_TABLE_ENDPOINT";
    throw new ConfigError(
      missing,
      "Storage is not configured: set AUDIT_STORAGE_CONNECTION_STRING (development, e.g. Azurite), or AUDIT_BLOB_ENDPOINT and AUDIT_TABLE_ENDPOINT with AZURE_CLIENT_ID (managed identity).",
    );
  }
  const clientId = read.get("AZURE_CLIENT_ID");
  if (!clientId) {
    throw new ConfigError(
      "AZURE_CLIENT_ID",
      "AZURE_CLIENT_ID is not set: with AUDIT_BLOB_ENDPOINT/AUDIT_TABLE_ENDPOINT it selects the user-assigned managed identity that has the storage data roles.",
    );
  }
  return {
    kind: "managed-identity",
    blobEndpoint: read.url("AUDIT_BLOB_ENDPOINT", blobEndpoint),
    tableEndpoint: read.url("AUDIT_TABLE_ENDPOINT", tableEndpoint),
    clientId,
  };
}

/** How a variable is needed, as help and the docs say it. */
function need(v: VariableSpec, style: "help" | "table"): string | undefined {
  if (v.required === "always") return "required";
  if (v.required === "storage-choice") return style === "help" ? "storage" : "storage (one option)";
  return style === "help" ? undefined : "optional";
}

/** The variables section of `--help`, generated from VARIABLES. */
export function describeVariables(): string {
  const width = Math.max(...VARIABLES.map((v) => v.name.length));
  return VARIABLES.map((v) => {
    const flags = [
      need(v, "help"),
      v.default !== undefined ? `default ${v.default}` : undefined,
    ].filter(Boolean);
    return `  ${v.name.padEnd(width)}  ${v.description}${flags.length ? ` (${flags.join("; ")})` : ""}`;
  }).join("\n");
}

/** Values that must never appear in logs or error output: every secret variable, and its parts. */
export function secretValues(config: RuntimeConfig): string[] {
  const values = config.credential.kind === "secret" ? [config.credential.secret] : [];
  if (config.storage.kind === "connection-string") {
    values.push(config.storage.connectionString);
    const key = /AccountKey=([^;]+)/i.exec(config.storage.connectionString)?.[1];
    if (key) values.push(key);
    const sas = /SharedAccessSignature=([^;]+)/i.exec(config.storage.connectionString)?.[1];
    if (sas) values.push(sas);
  }
  return values;
}

/** The variables table of docs/configuration.md, from VARIABLES (a test keeps them equal). */
export function variablesMarkdown(): string {
  const rows = VARIABLES.map((v) => {
    const def = v.default !== undefined ? `\`${v.default}\`` : "";
    return `| \`${v.name}\` | ${need(v, "table")} | ${def} | ${v.description.replace(/\|/g, "\\|")} |`;
  });
  return ["| Variable | Needed | Default | Meaning |", "|---|---|---|---|", ...rows].join("\n");
}
