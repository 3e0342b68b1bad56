import { ConfigError } from "./errors";

/**
 * Every environment variable the runtime reads, in one table. `--help` and the README are
 * generated from it, and `loadConfig` validates against it, so the three cannot drift apart.
 */
export interface VariableSpec {
  name: string;
  description: string;
  /** Shown in help; also the value used when unset (for optional variables). */
  default?: string;
  required?: "always" | "storage-choice";
  /** Never echoed back in errors or logs. */
  secret?: boolean;
}

export const VARIABLES: readonly VariableSpec[] = [
  {
    name: "AUDIT_TENANT_ID",
    required: "always",
    description: "Entra tenant id (GUID) whose audit log is read.",
  },
  {
    name: "AUDIT_CLIENT_ID",
    required: "always",
    description: "Application (client) id of the app with ActivityFeed.Read.",
  },
  {
    name: "AUDIT_CLIENT_SECRET",
    required: "always",
    secret: true,
    description: "Client secret VALUE (not its id) of that app.",
  },
  {
    name: "AUDIT_AUTHORITY",
    default: "https://login.windows.net",
    description:
      "Token authority root; the runtime uses {authority}/{tenant}. GCC High/DoD: https://login.microsoftonline.us.",
  },
  {
    name: "AUDIT_AUDIENCE",
    default: "https://manage.office.com",
    description:
      "API root and token audience (scope {audience}/.default). GCC: https://manage-gcc.office.com, GCC High: https://manage.office365.us, DoD: https://manage.protection.apps.mil.",
  },
  {
    name: "AUDIT_CONTENT_TYPES",
    default: "Audit.General",
    description: "Comma-separated content types to subscribe to and sync.",
  },
  {
    name: "AUDIT_PUBLISHER_ID",
    description:
      "PublisherIdentifier sent on every call (gives the tenant its own quota). Default: the tenant id.",
  },
  {
    name: "AUDIT_STORAGE_CONNECTION_STRING",
    required: "storage-choice",
    secret: true,
    description:
      "Azure Storage connection string (development, e.g. Azurite). Either this or the two endpoints below.",
  },
  {
    name: "AUDIT_BLOB_ENDPOINT",
    required: "storage-choice",
    description: "Blob endpoint, e.g. https://acct.blob.core.windows.net (managed identity).",
  },
  {
    name: "AUDIT_TABLE_ENDPOINT",
    required: "storage-choice",
    description: "Table endpoint, e.g. https://acct.table.core.windows.net (managed identity).",
  },
  {
    name: "AZURE_CLIENT_ID",
    description:
      "Client id of the user-assigned managed identity used with the endpoints (required with them).",
  },
  {
    name: "AUDIT_RATE_LIMIT_PER_MINUTE",
    default: "1800",
    description:
      "Requests per minute the runtime allows itself (90% of the 2,000/min tenant quota).",
  },
  {
    name: "AUDIT_BLOB_CONCURRENCY",
    default: "4",
    description: "Content blobs downloaded and processed at the same time.",
  },
  {
    name: "AUDIT_OVERLAP_MINUTES",
    default: "360",
    description:
      "Each pass re-lists this much before the checkpoint, to catch content listed late (blobs already processed are skipped by content id).",
  },
  {
    name: "AUDIT_FIRST_RUN_HOURS",
    default: "24",
    description: "How far back the first pass starts when there is no checkpoint (at most 168).",
  },
  {
    name: "AUDIT_SYNC_INTERVAL_MINUTES",
    default: "60",
    description:
      "serve: minutes between the start of passes (a pass never overlaps the previous one).",
  },
  {
    name: "AUDIT_REPORT_DAYS",
    default: "7",
    description:
      "serve: days covered by the report files written to the reports container after each pass.",
  },
  {
    name: "AUDIT_REPORT_STALE_DAYS",
    default: "30",
    description:
      "serve: the report files list apps not launched for this many days (all time, from the apps table).",
  },
  {
    name: "AUDIT_HTTP_TIMEOUT_MS",
    default: "120000",
    description: "Timeout of one HTTP request, body included.",
  },
  {
    name: "AUDIT_MAX_RETRIES",
    default: "6",
    description:
      "Retries of one request after 5xx, network errors or throttling (jittered backoff; Retry-After wins).",
  },
  { name: "PORT", default: "8080", description: "serve: port of /healthz, /readyz and /metrics." },
  {
    name: "AUDIT_LOG_LEVEL",
    default: "info",
    description:
      "debug, info, warn or error. Logs are JSON lines on stderr; secrets are never logged.",
  },
];

export type StorageConfig =
  | { kind: "connection-string"; connectionString: string }
  | { kind: "managed-identity"; blobEndpoint: string; tableEndpoint: string; clientId: string };

export type LogLevel = "debug" | "info" | "warn" | "error";

export interface RuntimeConfig {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  authority: string;
  audience: string;
  contentTypes: string[];
  publisherId: string;
  storage: StorageConfig;
  rateLimitPerMinute: number;
  blobConcurrency: number;
  overlapMs: number;
  firstRunMs: number;
  syncIntervalMs: number;
  reportDays: number;
  reportStaleDays: number;
  httpTimeoutMs: number;
  maxRetries: number;
  port: number;
  logLevel: LogLevel;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const KNOWN_CONTENT_TYPES = [
  "Audit.AzureActiveDirectory",
  "Audit.Exchange",
  "Audit.SharePoint",
  "Audit.General",
  "DLP.All",
];

type Env = Record<string, string | undefined>;

/** Reads and validates the whole configuration; the first problem found is thrown as ConfigError. */
export function loadConfig(env: Env = process.env): RuntimeConfig {
  const get = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v ? v : undefined;
  };
  const spec = (name: string) => VARIABLES.find((v) => v.name === name)!;
  const required = (name: string): string => {
    const v = get(name);
    if (v === undefined) {
      throw new ConfigError(
        name,
        `${name} is not set: ${spec(name).description} Set it in the environment (see \`npm run sync -- --help\`).`,
      );
    }
    return v;
  };
  const withDefault = (name: string): string => get(name) ?? spec(name).default!;
  const int = (name: string, min: number, max: number): number => {
    const raw = withDefault(name);
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new ConfigError(
        name,
        `${name}=${raw} is not an integer between ${min} and ${max}: ${spec(name).description}`,
      );
    }
    return n;
  };
  const url = (name: string, value: string): string => {
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch (cause) {
      throw new ConfigError(name, `${name}=${value} is not a URL: ${spec(name).description}`, {
        cause,
      });
    }
    if (
      parsed.protocol !== "https:" &&
      !(name.endsWith("_ENDPOINT") && parsed.protocol === "http:")
    ) {
      throw new ConfigError(
        name,
        `${name}=${value} must be an https:// URL: ${spec(name).description}`,
      );
    }
    return value.replace(/\/+$/, "");
  };
  const guid = (name: string, value: string): string => {
    if (!GUID.test(value)) {
      throw new ConfigError(
        name,
        `${name}=${value} is not a GUID: ${spec(name).description} Find it on the app's Overview page in Entra ID.`,
      );
    }
    return value;
  };

  const tenantId = guid("AUDIT_TENANT_ID", required("AUDIT_TENANT_ID"));
  const clientId = guid("AUDIT_CLIENT_ID", required("AUDIT_CLIENT_ID"));
  const clientSecret = required("AUDIT_CLIENT_SECRET");
  // A pasted secret *id* is a GUID; a secret value never is. Catch the classic mistake early.
  if (GUID.test(clientSecret)) {
    throw new ConfigError(
      "AUDIT_CLIENT_SECRET",
      "AUDIT_CLIENT_SECRET looks like a secret ID (a GUID), not the secret VALUE. Copy the value shown once when the secret was created (or let `pulumi up` store it in Key Vault).",
    );
  }
  const contentTypes = withDefault("AUDIT_CONTENT_TYPES")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (contentTypes.length === 0) {
    throw new ConfigError(
      "AUDIT_CONTENT_TYPES",
      `AUDIT_CONTENT_TYPES is empty: list one or more of ${KNOWN_CONTENT_TYPES.join(", ")}.`,
    );
  }
  for (const ct of contentTypes) {
    if (!KNOWN_CONTENT_TYPES.includes(ct)) {
      throw new ConfigError(
        "AUDIT_CONTENT_TYPES",
        `AUDIT_CONTENT_TYPES has unknown content type "${ct}": allowed are ${KNOWN_CONTENT_TYPES.join(", ")}.`,
      );
    }
  }
  const publisherId = guid("AUDIT_PUBLISHER_ID", get("AUDIT_PUBLISHER_ID") ?? tenantId);

  const logLevel = withDefault("AUDIT_LOG_LEVEL") as LogLevel;
  if (!["debug", "info", "warn", "error"].includes(logLevel)) {
    throw new ConfigError(
      "AUDIT_LOG_LEVEL",
      `AUDIT_LOG_LEVEL=${logLevel} is not one of debug, info, warn, error.`,
    );
  }

  return {
    tenantId,
    clientId,
    clientSecret,
    authority: url("AUDIT_AUTHORITY", withDefault("AUDIT_AUTHORITY")),
    audience: url("AUDIT_AUDIENCE", withDefault("AUDIT_AUDIENCE")),
    contentTypes: [...new Set(contentTypes)],
    publisherId,
    storage: loadStorageConfig(env, get, url),
    rateLimitPerMinute: int("AUDIT_RATE_LIMIT_PER_MINUTE", 1, 100_000),
    blobConcurrency: int("AUDIT_BLOB_CONCURRENCY", 1, 64),
    overlapMs: int("AUDIT_OVERLAP_MINUTES", 0, 24 * 60) * 60_000,
    firstRunMs: int("AUDIT_FIRST_RUN_HOURS", 1, 168) * 3_600_000,
    syncIntervalMs: int("AUDIT_SYNC_INTERVAL_MINUTES", 1, 24 * 60) * 60_000,
    reportDays: int("AUDIT_REPORT_DAYS", 1, 366),
    reportStaleDays: int("AUDIT_REPORT_STALE_DAYS", 1, 3660),
    httpTimeoutMs: int("AUDIT_HTTP_TIMEOUT_MS", 1_000, 3_600_000),
    maxRetries: int("AUDIT_MAX_RETRIES", 0, 20),
    port: int("PORT", 0, 65_535),
    logLevel,
  };
}

function loadStorageConfig(
  _env: Env,
  get: (name: string) => string | undefined,
  url: (name: string, value: string) => string,
): StorageConfig {
  const connectionString = get("AUDIT_STORAGE_CONNECTION_STRING");
  const blobEndpoint = get("AUDIT_BLOB_ENDPOINT");
  const tableEndpoint = get("AUDIT_TABLE_ENDPOINT");
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
  const clientId = get("AZURE_CLIENT_ID");
  if (!clientId) {
    throw new ConfigError(
      "AZURE_CLIENT_ID",
      "AZURE_CLIENT_ID is not set: with AUDIT_BLOB_ENDPOINT/AUDIT_TABLE_ENDPOINT it selects the user-assigned managed identity that has the storage data roles.",
    );
  }
  return {
    kind: "managed-identity",
    blobEndpoint: url("AUDIT_BLOB_ENDPOINT", blobEndpoint),
    tableEndpoint: url("AUDIT_TABLE_ENDPOINT", tableEndpoint),
    clientId,
  };
}

/** The variables section of `--help`, generated from VARIABLES. */
export function describeVariables(): string {
  const width = Math.max(...VARIABLES.map((v) => v.name.length));
  return VARIABLES.map((v) => {
    const flags = [
      v.required === "always"
        ? "required"
        : v.required === "storage-choice"
          ? "storage"
          : undefined,
      v.default !== undefined ? `default ${v.default}` : undefined,
    ].filter(Boolean);
    return `  ${v.name.padEnd(width)}  ${v.description}${flags.length ? ` (${flags.join("; ")})` : ""}`;
  }).join("\n");
}

/** Values that must never appear in logs or error output. */
export function secretValues(config: RuntimeConfig): string[] {
  const values = [config.clientSecret];
  if (config.storage.kind === "connection-string") {
    values.push(config.storage.connectionString);
    const key = /AccountKey=([^;]+)/i.exec(config.storage.connectionString)?.[1];
    if (key) values.push(key);
    const sas = /SharedAccessSignature=([^;]+)/i.exec(config.storage.connectionString)?.[1];
    if (sas) values.push(sas);
  }
  return values;
}

/** The variables table of sync-runtime/README.md, generated from VARIABLES (a test keeps them equal). */
export function variablesMarkdown(): string {
  const rows = VARIABLES.map((v) => {
    const need =
      v.required === "always"
        ? "required"
        : v.required === "storage-choice"
          ? "storage (one option)"
          : "optional";
    const def = v.default !== undefined ? `\`${v.default}\`` : "";
    return `| \`${v.name}\` | ${need} | ${def} | ${v.description.replace(/\|/g, "\\|")} |`;
  });
  return ["| Variable | Needed | Default | Meaning |", "|---|---|---|---|", ...rows].join("\n");
}
