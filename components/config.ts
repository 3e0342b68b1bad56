import * as pulumi from "@pulumi/pulumi";
import {
  CONTENT_TYPES,
  DATAVERSE_HOSTS,
  POWER_APPS_CONTENT_TYPE,
  RUNTIME_CREDENTIALS,
  type RuntimeCredential,
} from "../sync-runtime/contract";
import { DEFAULT_APP_USER_ROLE } from "./dataverse-app-user";
import {
  CLOUD_NAMES,
  CLOUDS,
  CONTAINER_APPS_GOVERNMENT_REGIONS,
  isGovernmentRegion,
  type CloudProfile,
} from "./clouds";

/** The seed document's name for the app registration (Pulumi.yaml states the same default). */
export const DEFAULT_APP_DISPLAY_NAME = "Microsoft 365 Management";

/** Bounds that keep a typo (e.g. 18000 days) from reaching Entra or the runtime. */
export const SECRET_LIFETIME_DAYS = { min: 7, max: 730, default: 180 } as const;
export const SYNC_INTERVAL_MINUTES = { min: 5, max: 1440, default: 60 } as const;
export const RBAC_PROPAGATION_SECONDS = { min: 0, max: 1800, default: 300 } as const;
/**
 * How far back the first pass reads: the Management API holds 7 days (168 hours), Graph's audit
 * log queries up to 180 days of the tenant's retention. Lower values make the first report
 * arrive sooner with less history.
 */
export const FIRST_RUN_HOURS = { min: 1, max: 168, default: 168 } as const;
export const GRAPH_BACKFILL_DAYS = { min: 1, max: 180, default: 30 } as const;
/** Blob and container soft delete: Azure accepts 1 to 365 days. */
export const SOFT_DELETE_DAYS = { min: 1, max: 365, default: 14 } as const;
/** Days before the raw archive moves to Cool (0: the day after it is written). */
export const ARCHIVE_COOL_DAYS = { min: 0, max: 36_500, default: 30 } as const;
/** Days before the raw archive is deleted, when a retention is set (default: never). */
export const ARCHIVE_RETENTION_DAYS = { min: 1, max: 36_500 } as const;

/**
 * Where the runtime reads the audit log, and so which permissions the app gets:
 * - managementApi: the Office 365 Management Activity API (every cloud); ActivityFeed.Read.
 * - graph: Microsoft Graph's audit log queries (commercial, GCC); AuditLogsQuery.Read.All only.
 * - both: the runtime syncs from the Management API and can fill its gaps, or backfill beyond its
 *   7 days, from Graph (`once --source graph [--gaps]`): both permissions.
 */
export const SOURCE_SETTINGS = ["managementApi", "graph", "both"] as const;
export type SourceSetting = (typeof SOURCE_SETTINGS)[number];

/** Where the image is built when `syncImage` is not set (stack config `imageBuild`). */
export const IMAGE_BUILDS = ["acr", "local"] as const;
export type ImageBuild = (typeof IMAGE_BUILDS)[number];

/** The host of an image reference (`host[:port]/path…`), or undefined for a Docker Hub name. */
export function registryHostOf(image: string): string | undefined {
  const first = image.split("/")[0]!;
  return image.includes("/") && /[.:]/.test(first) ? first : undefined;
}

/** Everything the program needs from the stack, validated. */
export interface StackSettings {
  readonly cloud: CloudProfile;
  /** Azure region for every Azure resource (`azure-native:location`). */
  readonly location: string;
  /** Optional subscription passed on to the explicit azure-native provider. */
  readonly subscriptionId?: string;
  readonly appDisplayName: string;
  /** Audit source (stack config `source`, default managementApi). */
  readonly source: SourceSetting;
  /**
   * How the runtime proves it is the app (stack config `runtimeCredential`, default federated):
   * federated, its managed identity's token as the client assertion of the app's federated
   * credential (no secret reaches the Container App), or secret, the client secret from Key Vault.
   */
  readonly runtimeCredential: RuntimeCredential;
  /**
   * Whether the app gets a rotating client secret kept in Key Vault, for the CoE flows and other
   * tools (stack config `clientSecret`, default true). false: no secret, no vault, no rotation.
   */
  readonly clientSecret: boolean;
  readonly secretLifetimeDays: number;
  readonly contentTypes: readonly string[];
  readonly syncIntervalMinutes: number;
  /** Prebuilt image reference; when absent the image is built from sync-runtime/. */
  readonly syncImage?: string;
  /** ARM id of the private registry holding syncImage, pulled with the identity (AcrPull). */
  readonly syncImageRegistry?: string;
  /** Where the image is built without syncImage: acr (default, no Docker) or local. */
  readonly imageBuild: ImageBuild;
  /** Entra object ids that own the app registration besides the deployer. */
  readonly appOwners: readonly string[];
  readonly grantDataverseKeyVaultAccess: boolean;
  /** The CoE environment's URL (origin) for the runtime's Dataverse sink; unset: the sink is off. */
  readonly dataverseUrl?: string;
  /** With dataverseUrl: the role the app's application user gets (default Power Platform Admin SR). */
  readonly dataverseAppUserRole: string;
  /** With dataverseUrl: also write the CoE "Audit Logs - …" environment variable values. */
  readonly coeEnvironmentVariables: boolean;
  /** With dataverseUrl: grant User.Read.All and fill the audit rows' user details from Graph. */
  readonly dataverseUserDetails: boolean;
  /** Seconds a first deployment waits for new role assignments before the Container App. */
  readonly rbacPropagationSeconds: number;
  /** Pulumi may not delete or replace the storage account or its group (default true). */
  readonly protectArchive: boolean;
  /** Days deleted blobs and containers stay recoverable (default 14). */
  readonly softDeleteDays: number;
  /** Days before raw archive blobs move to Cool (default 30). */
  readonly archiveCoolDays: number;
  /** Days before raw archive blobs are deleted; undefined: never (the default). */
  readonly archiveRetentionDays?: number;
  /** Hours the first Management API pass reads back (default 168, all the API holds). */
  readonly firstRunHours: number;
  /** Days the graph source's first pass reads back (default 30; used with source graph or both). */
  readonly graphBackfillDays: number;
  /** Who is mailed when the sync stops or loses data; empty: no alerts (the default). */
  readonly alertEmails: readonly string[];
}

/** A stack config value that cannot be used; the message says how to fix it. */
export class ConfigError extends Error {
  constructor(
    readonly key: string,
    readonly value: string | undefined,
    allowed: string,
    fix: string,
  ) {
    const shown = value === undefined ? "(not set)" : JSON.stringify(value);
    super(`Invalid stack config "${key}": ${shown}. Allowed: ${allowed}. Fix it with: ${fix}`);
    this.name = "ConfigError";
  }
}

/** Reads a config key: bare keys belong to this project, `ns:key` to a provider. */
export type ConfigReader = (key: string) => string | undefined;

const EMAIL = /^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$/;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function setCommand(key: string, example: string): string {
  return `pulumi config set ${key} ${example}`;
}

function parseInteger(
  read: ConfigReader,
  key: string,
  bounds: { min: number; max: number; default: number },
): number {
  const raw = read(key);
  if (raw === undefined || raw.trim() === "") return bounds.default;
  const value = Number(raw.trim());
  if (!Number.isInteger(value) || value < bounds.min || value > bounds.max) {
    throw new ConfigError(
      key,
      raw,
      `an integer from ${bounds.min} to ${bounds.max} (default ${bounds.default})`,
      setCommand(key, String(bounds.default)),
    );
  }
  return value;
}

function parseBoolean(read: ConfigReader, key: string, fallback: boolean): boolean {
  const raw = read(key);
  if (raw === undefined || raw.trim() === "") return fallback;
  if (raw.trim() === "true") return true;
  if (raw.trim() === "false") return false;
  throw new ConfigError(
    key,
    raw,
    `true | false (default ${fallback})`,
    setCommand(key, String(!fallback)),
  );
}

/** Accepts a comma list or a JSON array (what `pulumi config set --path key[0] v` stores). */
function parseList(raw: string | undefined): string[] {
  if (raw === undefined || raw.trim() === "") return [];
  const text = raw.trim();
  if (text.startsWith("[")) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (Array.isArray(parsed)) return parsed.map((item) => String(item).trim()).filter(Boolean);
    } catch {
      // Falls through to the comma split so the element check names the bad entry.
    }
  }
  return text
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);
}

/**
 * Validates the whole stack config before any resource exists, so a wrong value fails the
 * preview with one message naming the key, the value, the valid choices and the fixing command.
 */
export function parseStackSettings(read: ConfigReader): StackSettings {
  const cloudRaw = read("cloud") ?? "commercial";
  if (!(CLOUD_NAMES as readonly string[]).includes(cloudRaw)) {
    throw new ConfigError(
      "cloud",
      cloudRaw,
      CLOUD_NAMES.join(" | "),
      setCommand("cloud", "gcchigh"),
    );
  }
  const cloud = CLOUDS[cloudRaw as keyof typeof CLOUDS];

  const exampleRegion = cloud.governmentRegionsOnly ? "usgovvirginia" : "eastus";
  const location = read("azure-native:location");
  if (location === undefined || !/^[a-z0-9]+$/.test(location)) {
    throw new ConfigError(
      "azure-native:location",
      location,
      "an Azure region name in lower case without spaces (e.g. eastus, usgovvirginia)",
      setCommand("azure-native:location", exampleRegion),
    );
  }
  if (isGovernmentRegion(location) !== cloud.governmentRegionsOnly) {
    throw new ConfigError(
      "azure-native:location",
      location,
      cloud.governmentRegionsOnly
        ? `an Azure Government region (usgov…/usdod…) because cloud is ${cloud.name}`
        : `a public Azure region (not usgov…/usdod…) because cloud is ${cloud.name}`,
      setCommand("azure-native:location", exampleRegion),
    );
  }

  if (cloud.governmentRegionsOnly && !CONTAINER_APPS_GOVERNMENT_REGIONS.includes(location)) {
    throw new ConfigError(
      "azure-native:location",
      location,
      `an Azure Government region that offers Container Apps: ${CONTAINER_APPS_GOVERNMENT_REGIONS.join(", ")}`,
      setCommand("azure-native:location", CONTAINER_APPS_GOVERNMENT_REGIONS[0]!),
    );
  }

  const subscriptionId = read("azure-native:subscriptionId");
  if (subscriptionId !== undefined && !GUID.test(subscriptionId)) {
    throw new ConfigError(
      "azure-native:subscriptionId",
      subscriptionId,
      "a subscription GUID, or unset to use the az login default",
      "pulumi config rm azure-native:subscriptionId",
    );
  }

  const appDisplayName = (read("appDisplayName") ?? DEFAULT_APP_DISPLAY_NAME).trim();
  if (appDisplayName.length === 0 || appDisplayName.length > 120) {
    throw new ConfigError(
      "appDisplayName",
      read("appDisplayName"),
      "1 to 120 characters",
      setCommand("appDisplayName", `"${DEFAULT_APP_DISPLAY_NAME}"`),
    );
  }

  const source = parseSource(read, cloud);

  const secretLifetimeDays = parseInteger(read, "secretLifetimeDays", SECRET_LIFETIME_DAYS);
  const { runtimeCredential, clientSecret } = parseCredential(read);

  const contentTypesRaw = read("contentTypes");
  const contentTypes = [...new Set(parseList(contentTypesRaw ?? POWER_APPS_CONTENT_TYPE))];
  const unknownType = contentTypes.find((t) => !(CONTENT_TYPES as readonly string[]).includes(t));
  if (contentTypes.length === 0 || unknownType !== undefined) {
    throw new ConfigError(
      "contentTypes",
      contentTypesRaw,
      `a comma list of ${CONTENT_TYPES.join(", ")}`,
      setCommand("contentTypes", POWER_APPS_CONTENT_TYPE),
    );
  }

  const syncIntervalMinutes = parseInteger(read, "syncIntervalMinutes", SYNC_INTERVAL_MINUTES);

  const syncImageRaw = read("syncImage");
  const syncImage = syncImageRaw?.trim() === "" ? undefined : syncImageRaw;
  if (syncImage !== undefined && !/^[a-z0-9][a-z0-9._\-/:@]*$/i.test(syncImage)) {
    throw new ConfigError(
      "syncImage",
      syncImage,
      "an image reference such as myregistry.azurecr.io/coe-audit-sync:1.0.0, or unset to build from sync-runtime/",
      "pulumi config rm syncImage",
    );
  }

  const syncImageRegistry = read("syncImageRegistry")?.trim() || undefined;
  if (syncImageRegistry !== undefined) {
    const host = syncImage === undefined ? undefined : registryHostOf(syncImage);
    if (
      !/^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.ContainerRegistry\/registries\/[A-Za-z0-9]+$/i.test(
        syncImageRegistry,
      ) ||
      host === undefined
    ) {
      throw new ConfigError(
        "syncImageRegistry",
        syncImageRegistry,
        "the resource id of the Azure Container Registry that holds syncImage (/subscriptions/…/resourceGroups/…/providers/Microsoft.ContainerRegistry/registries/<name>), with syncImage set to an image in it (<name>.azurecr.io/…)",
        "pulumi config set syncImageRegistry $(az acr show -n <name> --query id -o tsv)",
      );
    }
  }

  const imageBuildRaw = read("imageBuild");
  const imageBuild =
    imageBuildRaw === undefined || imageBuildRaw.trim() === "" ? "acr" : imageBuildRaw.trim();
  if (!(IMAGE_BUILDS as readonly string[]).includes(imageBuild)) {
    throw new ConfigError(
      "imageBuild",
      imageBuildRaw,
      `${IMAGE_BUILDS.join(" | ")} (default acr: built in the stack's registry with the Azure CLI, no Docker)`,
      setCommand("imageBuild", "acr"),
    );
  }

  const appOwnersRaw = read("appOwners");
  const appOwners = parseList(appOwnersRaw);
  if (appOwners.some((id) => !GUID.test(id))) {
    throw new ConfigError(
      "appOwners",
      appOwnersRaw,
      "a comma list of Entra object ids (GUIDs) of users or service principals",
      setCommand("appOwners", "00000000-0000-0000-0000-000000000000"),
    );
  }

  const grantRaw = read("grantDataverseKeyVaultAccess") ?? "false";
  if (grantRaw !== "true" && grantRaw !== "false") {
    throw new ConfigError(
      "grantDataverseKeyVaultAccess",
      grantRaw,
      "true | false",
      setCommand("grantDataverseKeyVaultAccess", "true"),
    );
  }
  if (grantRaw === "true" && !clientSecret) {
    throw new ConfigError(
      "grantDataverseKeyVaultAccess",
      grantRaw,
      "false while clientSecret is false (there is no secret in Key Vault for Dataverse to read)",
      "pulumi config set grantDataverseKeyVaultAccess false",
    );
  }

  const dataverseUrl = readDataverseUrl(read, cloud);
  const dataverseAppUser = readDataverseAppUser(read, dataverseUrl);
  const dataverseUserDetails = readUserDetails(read, dataverseUrl);

  const rbacPropagationSeconds = parseInteger(
    read,
    "rbacPropagationSeconds",
    RBAC_PROPAGATION_SECONDS,
  );

  const protectArchive = parseBoolean(read, "protectArchive", true);
  const softDeleteDays = parseInteger(read, "softDeleteDays", SOFT_DELETE_DAYS);
  const archiveCoolDays = parseInteger(read, "archiveCoolDays", ARCHIVE_COOL_DAYS);
  const archiveRetentionDays = parseRetention(read, archiveCoolDays);

  const firstRunHours = parseInteger(read, "firstRunHours", FIRST_RUN_HOURS);
  const graphBackfillDays = parseInteger(read, "graphBackfillDays", GRAPH_BACKFILL_DAYS);

  const alertEmailsRaw = read("alertEmails");
  const alertEmails = [...new Set(parseList(alertEmailsRaw))];
  // An action group takes at most 1000 email receivers; a handful is what an admin team needs.
  if (alertEmails.some((e) => !EMAIL.test(e)) || alertEmails.length > 20) {
    throw new ConfigError(
      "alertEmails",
      alertEmailsRaw,
      "a comma list of up to 20 email addresses (or a JSON array), or unset for no alerts",
      setCommand("alertEmails", "admin@contoso.com,coe-team@contoso.com"),
    );
  }

  return {
    cloud,
    location,
    subscriptionId,
    appDisplayName,
    source,
    runtimeCredential,
    clientSecret,
    secretLifetimeDays,
    contentTypes,
    syncIntervalMinutes,
    syncImage,
    syncImageRegistry,
    imageBuild: imageBuild as ImageBuild,
    appOwners,
    grantDataverseKeyVaultAccess: grantRaw === "true",
    dataverseUrl,
    ...dataverseAppUser,
    dataverseUserDetails,
    rbacPropagationSeconds,
    protectArchive,
    softDeleteDays,
    archiveCoolDays,
    archiveRetentionDays,
    firstRunHours,
    graphBackfillDays,
    alertEmails,
  };
}

/**
 * `archiveRetentionDays`: unset or "never" keeps the raw archive; a number of days must come
 * after the move to Cool (Cool bills at least 30 days, so deleting sooner costs as much).
 */
function parseRetention(read: ConfigReader, coolDays: number): number | undefined {
  const raw = read("archiveRetentionDays");
  if (raw === undefined || raw.trim() === "" || raw.trim() === "never") return undefined;
  const value = Number(raw.trim());
  const { min, max } = ARCHIVE_RETENTION_DAYS;
  if (!Number.isInteger(value) || value < min || value > max || value <= coolDays) {
    throw new ConfigError(
      "archiveRetentionDays",
      raw,
      `never (the default), or an integer from ${Math.max(min, coolDays + 1)} to ${max}: more than archiveCoolDays (${coolDays})`,
      "pulumi config rm archiveRetentionDays",
    );
  }
  return value;
}

function parseCredential(read: ConfigReader): {
  runtimeCredential: RuntimeCredential;
  clientSecret: boolean;
} {
  const raw = read("runtimeCredential");
  const runtimeCredential = raw === undefined || raw.trim() === "" ? "federated" : raw.trim();
  if (!(RUNTIME_CREDENTIALS as readonly string[]).includes(runtimeCredential)) {
    throw new ConfigError(
      "runtimeCredential",
      raw,
      `${RUNTIME_CREDENTIALS.join(" | ")} (default federated)`,
      setCommand("runtimeCredential", "federated"),
    );
  }
  const clientSecret = parseBoolean(read, "clientSecret", true);
  if (runtimeCredential === "secret" && !clientSecret) {
    throw new ConfigError(
      "runtimeCredential",
      raw,
      "federated while clientSecret is false (the runtime cannot use a secret the stack does not create)",
      "pulumi config set runtimeCredential federated",
    );
  }
  return { runtimeCredential: runtimeCredential as RuntimeCredential, clientSecret };
}

function parseSource(read: ConfigReader, cloud: CloudProfile): SourceSetting {
  const raw = read("source");
  const source = raw === undefined || raw.trim() === "" ? "managementApi" : raw.trim();
  if (!(SOURCE_SETTINGS as readonly string[]).includes(source)) {
    throw new ConfigError(
      "source",
      raw,
      SOURCE_SETTINGS.join(" | "),
      setCommand("source", "managementApi"),
    );
  }
  if (source !== "managementApi" && cloud.graphAuditEndpoint === null) {
    throw new ConfigError(
      "source",
      raw,
      `managementApi, because cloud is ${cloud.name}: Microsoft Graph's audit log query API is offered in the global service only (GCC High and DoD answer "Resource not found for the segment 'auditLog'")`,
      setCommand("source", "managementApi"),
    );
  }
  return source as SourceSetting;
}

/**
 * `dataverseUrl`: the CoE environment, an https origin on the stack cloud's Dataverse domain (the
 * runtime checks the same rule from the contract at start, so a bad value never deploys).
 */
function readDataverseUrl(read: ConfigReader, cloud: CloudProfile): string | undefined {
  const raw = read("dataverseUrl")?.trim();
  if (!raw) return undefined;
  const hosts = DATAVERSE_HOSTS[cloud.name];
  const allowed = `the Environment URL of the CoE environment in the ${cloud.name} cloud (host matching ${hosts.source.replace(/\\/g, "")}), e.g. https://contoso.${cloud.name === "gcchigh" ? "crm.microsoftdynamics.us" : cloud.name === "dod" ? "crm.appsplatform.us" : cloud.name === "gcc" ? "crm9.dynamics.com" : "crm.dynamics.com"}`;
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (
    !url ||
    url.protocol !== "https:" ||
    url.pathname !== "/" ||
    url.search ||
    !hosts.test(url.hostname)
  ) {
    throw new ConfigError(
      "dataverseUrl",
      raw,
      allowed,
      setCommand("dataverseUrl", "https://contoso.crm.dynamics.com"),
    );
  }
  return url.origin;
}

/**
 * `dataverseAppUserRole` (a role name, default the CoE's Power Platform Admin SR) and
 * `coeEnvironmentVariables` (true | false, default false; true needs dataverseUrl).
 */
function readDataverseAppUser(
  read: ConfigReader,
  dataverseUrl: string | undefined,
): { dataverseAppUserRole: string; coeEnvironmentVariables: boolean } {
  const roleRaw = read("dataverseAppUserRole");
  const role = roleRaw?.trim() || DEFAULT_APP_USER_ROLE;
  if (role.length > 100) {
    throw new ConfigError(
      "dataverseAppUserRole",
      roleRaw,
      "the name of a security role of the CoE environment (at most 100 characters)",
      setCommand("dataverseAppUserRole", `"${DEFAULT_APP_USER_ROLE}"`),
    );
  }
  const variablesRaw = read("coeEnvironmentVariables")?.trim() || "false";
  if (variablesRaw !== "true" && variablesRaw !== "false") {
    throw new ConfigError(
      "coeEnvironmentVariables",
      variablesRaw,
      "true | false",
      setCommand("coeEnvironmentVariables", "true"),
    );
  }
  if (variablesRaw === "true" && dataverseUrl === undefined) {
    throw new ConfigError(
      "coeEnvironmentVariables",
      variablesRaw,
      "true only with dataverseUrl set (the environment to write them to)",
      setCommand("dataverseUrl", "https://contoso.crm.dynamics.com"),
    );
  }
  return { dataverseAppUserRole: role, coeEnvironmentVariables: variablesRaw === "true" };
}

/**
 * `dataverseUserDetails` (true | false, default false): User.Read.All lets the app read every
 * user's profile, so it is granted only when asked for, with the sink on. Every cloud has its
 * users in its own Graph (`CloudProfile.graphEndpoint`), GCC High and DoD included.
 */
function readUserDetails(read: ConfigReader, dataverseUrl: string | undefined): boolean {
  const on = parseBoolean(read, "dataverseUserDetails", false);
  if (on && dataverseUrl === undefined)
    throw new ConfigError(
      "dataverseUserDetails",
      "true",
      "true only with dataverseUrl set (the details go into its audit rows)",
      setCommand("dataverseUrl", "https://contoso.crm.dynamics.com"),
    );
  return on;
}

/** Provider keys the program passes to its explicit providers; every other one is ignored. */
export const PASSED_PROVIDER_KEYS = ["azure-native:location", "azure-native:subscriptionId"];

/**
 * Stack keys of the azure-native and azuread providers that have no effect: the program builds
 * both providers explicitly from `cloud` (plus location and subscription), and an explicit
 * provider does not read the stack's `azure-native:*`/`azuread:*` keys. Credentials still work
 * through the providers' environment variables (ARM_CLIENT_ID, ARM_TENANT_ID, …).
 */
export function ignoredProviderKeys(keys: Iterable<string>): string[] {
  return [...keys]
    .filter((key) => /^(azure-native|azuread):/.test(key) && !PASSED_PROVIDER_KEYS.includes(key))
    .sort();
}

/** Reads the stack's config through pulumi.Config and validates it. */
export function loadStackSettings(): StackSettings {
  for (const key of ignoredProviderKeys(Object.keys(pulumi.runtime.allConfig()))) {
    // Fire and forget: the engine shows the warning; nothing waits on it being sent.
    void pulumi.log.warn(
      `Stack config "${key}" has no effect: the program configures the azure-native and azuread providers itself from "cloud" (and azure-native:location, azure-native:subscriptionId). Remove it with \`pulumi config rm ${key}\`; to authenticate, use the provider's environment variables (e.g. ARM_CLIENT_ID, ARM_TENANT_ID) instead.`,
    );
  }
  const project = new pulumi.Config();
  return parseStackSettings((key) => {
    const split = key.indexOf(":");
    if (split < 0) return project.get(key);
    return new pulumi.Config(key.slice(0, split)).get(key.slice(split + 1));
  });
}
