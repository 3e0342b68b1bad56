import { FEDERATED_AUDIENCES, GRAPH_OF_CLOUD } from "../sync-runtime/contract";

/**
 * The four Microsoft 365 clouds as plain data: audience and authority as learn.microsoft.com
 * "Collect audit logs using Office 365 Management API" (CoE Starter Kit) lists them per cloud,
 * Azure and Entra environments as the azure-native and azuread providers name them. Switching cloud is a
 * stack config change only; nothing else in the program branches on the cloud name.
 */
export interface CloudProfile {
  /** Stack config value selecting this profile. */
  readonly name: CloudName;
  /** Management Activity API root and token audience (`{audience}/.default`). */
  readonly audience: string;
  /** Token authority host; the runtime appends `/{tenantId}`. */
  readonly authority: string;
  /** `environment` of the azure-native provider. */
  readonly azureNativeEnvironment: "public" | "usgovernment";
  /** `environment` of the azuread provider. */
  readonly azureadEnvironment: "global" | "usgovernmentl4" | "usgovernmentl5";
  /** True when the Azure resources must live in an Azure Government region. */
  readonly governmentRegionsOnly: boolean;
  /**
   * Entra audience of the registry token the program swaps for an ACR refresh token: the
   * registry's own audience rather than Resource Manager's, so the push also works where the
   * built-in policy "Container registries should have ARM audience token authentication
   * disabled" is enforced (Azure CLI's acr module uses the same audience in every cloud).
   */
  readonly containerRegistryAudience: string;
  /**
   * Microsoft Graph root (token audience) for its audit log query API, or null where the API is
   * not offered: it exists in the global service only, not in US Government L4 (GCC High) or L5
   * (DoD) (learn.microsoft.com/graph/api/security-auditcoreroot-post-auditlogqueries, national
   * cloud deployments). GCC tenants use the global Graph.
   */
  readonly graphAuditEndpoint: string | null;
  /**
   * Microsoft Graph root (token audience) of the cloud's tenants, where their users are read
   * (the Dataverse sink's user details): every cloud has one, GCC High and DoD their own
   * (learn.microsoft.com/graph/deployments; user-get is offered in all of them,
   * learn.microsoft.com/graph/api/user-get, "National cloud deployments").
   */
  readonly graphEndpoint: string;
  /**
   * Entra sign-in host whose `/{tenant}/v2.0` is the issuer of a managed identity's token when
   * an app trusts it as a federated credential (entra-docs,
   * workload-identity-federation-config-app-trust-managed-identity: login.microsoftonline.com,
   * or login.microsoftonline.us in the US Government clouds). Not `authority`: the Management
   * API's documented authority for commercial is login.windows.net, which is not an issuer.
   */
  readonly entraLoginHost: "https://login.microsoftonline.com" | "https://login.microsoftonline.us";
  /** Audience of that managed-identity token: the token exchange audience of the cloud. */
  readonly tokenExchangeAudience: (typeof FEDERATED_AUDIENCES)[keyof typeof FEDERATED_AUDIENCES];
}

// The audiences come from the runtime's contract: the program's federated credential and the
// runtime's token request must name the same one.
const PUBLIC_FEDERATION = {
  entraLoginHost: "https://login.microsoftonline.com",
  tokenExchangeAudience: FEDERATED_AUDIENCES.public,
} as const;
const US_GOVERNMENT_FEDERATION = {
  entraLoginHost: "https://login.microsoftonline.us",
  tokenExchangeAudience: FEDERATED_AUDIENCES.usGovernment,
} as const;

/** The global Microsoft Graph service (learn.microsoft.com/graph/deployments). */
const GLOBAL_GRAPH = "https://graph.microsoft.com";

/** ACR's Entra audience (azure-cli, src/azure-cli/azure/cli/command_modules/acr/_constants.py). */
const CONTAINER_REGISTRY_AUDIENCE = "https://containerregistry.azure.net";

/**
 * Azure Government regions that offer Azure Container Apps. Container Apps is not in the
 * DoD regions (usdod*) and, as of microsoft/azure-container-apps#612 ("Government Cloud
 * Support"), only US Gov Virginia takes managed environments. `az provider show -n
 * Microsoft.App --query "resourceTypes[?resourceType=='managedEnvironments'].locations"`
 * against AzureUSGovernment lists the current ones.
 */
export const CONTAINER_APPS_GOVERNMENT_REGIONS: readonly string[] = ["usgovvirginia"];

export const CLOUD_NAMES = ["commercial", "gcc", "gcchigh", "dod"] as const;
export type CloudName = (typeof CLOUD_NAMES)[number];

export const CLOUDS: Readonly<Record<CloudName, CloudProfile>> = {
  commercial: {
    name: "commercial",
    audience: "https://manage.office.com",
    authority: "https://login.windows.net",
    azureNativeEnvironment: "public",
    azureadEnvironment: "global",
    governmentRegionsOnly: false,
    containerRegistryAudience: CONTAINER_REGISTRY_AUDIENCE,
    graphAuditEndpoint: GLOBAL_GRAPH,
    graphEndpoint: GRAPH_OF_CLOUD.commercial,
    ...PUBLIC_FEDERATION,
  },
  // GCC tenants live in commercial Entra and commercial Azure; only the API host differs.
  gcc: {
    name: "gcc",
    audience: "https://manage-gcc.office.com",
    authority: "https://login.windows.net",
    azureNativeEnvironment: "public",
    azureadEnvironment: "global",
    governmentRegionsOnly: false,
    containerRegistryAudience: CONTAINER_REGISTRY_AUDIENCE,
    graphAuditEndpoint: GLOBAL_GRAPH,
    graphEndpoint: GRAPH_OF_CLOUD.gcc,
    ...PUBLIC_FEDERATION,
  },
  gcchigh: {
    name: "gcchigh",
    audience: "https://manage.office365.us",
    authority: "https://login.microsoftonline.us",
    azureNativeEnvironment: "usgovernment",
    azureadEnvironment: "usgovernmentl4",
    governmentRegionsOnly: true,
    containerRegistryAudience: CONTAINER_REGISTRY_AUDIENCE,
    graphAuditEndpoint: null,
    graphEndpoint: GRAPH_OF_CLOUD.gcchigh,
    ...US_GOVERNMENT_FEDERATION,
  },
  dod: {
    name: "dod",
    audience: "https://manage.protection.apps.mil",
    authority: "https://login.microsoftonline.us",
    azureNativeEnvironment: "usgovernment",
    azureadEnvironment: "usgovernmentl5",
    governmentRegionsOnly: true,
    containerRegistryAudience: CONTAINER_REGISTRY_AUDIENCE,
    graphAuditEndpoint: null,
    graphEndpoint: GRAPH_OF_CLOUD.dod,
    ...US_GOVERNMENT_FEDERATION,
  },
};

/** Azure Government region names all start with `usgov` or `usdod` (e.g. usgovvirginia). */
export function isGovernmentRegion(location: string): boolean {
  return /^us(gov|dod)/.test(location);
}

/**
 * Issuer of the runtime identity's tokens as the app's federated credential names it:
 * `{login host}/{tenant}/v2.0`, the tenant being the app's own (a managed identity can only be
 * trusted by an app in its tenant).
 */
export function federatedIssuer(cloud: CloudProfile, tenantId: string): string {
  return `${cloud.entraLoginHost}/${tenantId}/v2.0`;
}
