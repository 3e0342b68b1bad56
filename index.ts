import * as pulumi from "@pulumi/pulumi";
import * as azuread from "@pulumi/azuread";
import { Provider as AzureNativeProvider } from "@pulumi/azure-native/provider";
import * as authorization from "@pulumi/azure-native/authorization";
import * as resources from "@pulumi/azure-native/resources";
import { federatedIssuer } from "./components/clouds";
import { loadStackSettings } from "./components/config";
import { AuditAppRegistration, rotationCommand } from "./components/audit-app-registration";
import { AuditKeyVault } from "./components/audit-key-vault";
import { AuditStorage } from "./components/audit-storage";
import { SyncImage } from "./components/sync-image";
import { SyncAlerts } from "./components/sync-alerts";
import { SyncService } from "./components/sync-service";
import { DataverseApplicationUser } from "./components/dataverse-app-user";

// 1. Config, validated before any resource exists.
const settings = loadStackSettings();
const cloud = settings.cloud;
const stackName = pulumi.getStack();

// 2. Providers for the cloud. Explicit providers make `cloud` the only switch: the stack file
//    cannot leave azure-native on public Azure while Entra points at Azure Government.
const azureProvider = new AzureNativeProvider("azure", {
  environment: cloud.azureNativeEnvironment,
  location: settings.location,
  subscriptionId: settings.subscriptionId,
});
const entraProvider = new azuread.Provider("entra", { environment: cloud.azureadEnvironment });
const providers = [azureProvider, entraProvider];

// Who runs the deployment, and in which directory (tenant): Entra's view, for the app and the
// runtime; Azure's view for the vault, which trusts the tenant of its subscription.
const deployer = azuread.getClientConfigOutput({ provider: entraProvider });
const azureClient = authorization.getClientConfigOutput({ provider: azureProvider });

// 3. The Entra app: permission declared and consented, a rotating client secret unless the
//    stack keeps none (`clientSecret: false`).
const registration = new AuditAppRegistration(
  "audit-app",
  {
    displayName: settings.appDisplayName,
    // The first deployer becomes an owner, so a later `pulumi up` by it can rotate the secret
    // even with only Application.ReadWrite.OwnedBy; later deployers change no owners.
    owners: deployer.objectId.apply((id) => [...new Set([id, ...settings.appOwners])]),
    clientSecret: settings.clientSecret,
    secretLifetimeDays: settings.secretLifetimeDays,
    // Graph alone needs no ActivityFeed.Read; "both" keeps it and adds Graph for gap fills.
    apis: {
      managementApi: settings.source !== "graph",
      graphAuditLogs: settings.source !== "managementApi",
    },
    // User.Read.All only when the admin asked for user details: it reads every user's profile.
    userDetails: settings.dataverseUserDetails,
  },
  { providers },
);

// 4. Azure resources, all in one autonamed resource group whose name seeds the names that
//    Azure's limits force us to choose (vault, storage account, registry).
const tags = { "coe-audit-sync-stack": stackName };
// Deleting a resource group deletes everything in it, whatever Pulumi knows of its contents
// (pulumi/pulumi-azure-native#2522), and `location` cannot change in place: protecting the
// storage account alone would not keep the archive. So the group is protected with it.
const group = new resources.ResourceGroup(
  "coe-audit-sync",
  { location: settings.location, tags },
  {
    provider: azureProvider,
    protect: settings.protectArchive,
    retainOnDelete: settings.protectArchive,
  },
);
const inGroup = { resourceGroupName: group.name, location: settings.location, stackName };

// The vault exists for the client secret alone: no secret, no vault.
const clientSecret = registration.secret;
const vault =
  clientSecret &&
  new AuditKeyVault(
    "audit-vault",
    {
      ...inGroup,
      resourceGroupId: group.id,
      nameSeed: group.name,
      tenantId: azureClient.tenantId,
      clientSecret: clientSecret.value,
      clientSecretEndDate: clientSecret.endDate,
      grantDataverseAccess: settings.grantDataverseKeyVaultAccess,
    },
    { providers },
  );

const storage = new AuditStorage(
  "audit-data",
  {
    ...inGroup,
    nameSeed: group.name,
    protect: settings.protectArchive,
    softDeleteDays: settings.softDeleteDays,
    archiveCoolDays: settings.archiveCoolDays,
    archiveRetentionDays: settings.archiveRetentionDays,
  },
  { providers },
);

const image = new SyncImage(
  "sync-image",
  {
    ...inGroup,
    nameSeed: group.name,
    prebuiltImage: settings.syncImage,
    prebuiltRegistryId: settings.syncImageRegistry,
    build: settings.imageBuild,
    subscriptionId: settings.subscriptionId,
    tags,
    registryAudience: cloud.containerRegistryAudience,
  },
  { providers },
);

const service = new SyncService(
  "sync",
  {
    resourceGroupName: group.name,
    resourceGroupId: group.id,
    location: settings.location,
    runtime: {
      tenantId: deployer.tenantId,
      clientId: registration.clientId,
      authority: cloud.authority,
      audience: cloud.audience,
      contentTypes: settings.contentTypes,
      // "both" syncs from the Management API; Graph is there for `once --source graph`.
      source: settings.source === "graph" ? "graph" : "managementApi",
      // Graph's audit log queries (graph, both); users are read from the cloud's own Graph.
      graphEndpoint:
        settings.source === "managementApi" ? undefined : (cloud.graphAuditEndpoint ?? undefined),
      graphUsersEndpoint: settings.dataverseUserDetails ? cloud.graphEndpoint : undefined,
      syncIntervalMinutes: settings.syncIntervalMinutes,
      // A dashboard on day one: the first pass reads all the source still holds, unless lowered.
      firstRunHours: settings.firstRunHours,
      graphBackfillDays: settings.graphBackfillDays,
      dataverseUrl: settings.dataverseUrl,
      dataverseUserDetails: settings.dataverseUserDetails,
      blobEndpoint: storage.blobEndpoint,
      tableEndpoint: storage.tableEndpoint,
    },
    storageAccountId: storage.accountId,
    vaultId: vault?.vaultId,
    // Config validation guarantees the vault exists whenever the runtime uses the secret.
    credential:
      settings.runtimeCredential === "secret" && vault
        ? {
            kind: "secret",
            id: vault.secretId,
            uri: vault.secretUriWithVersion,
            version: vault.secretVersion,
          }
        : {
            kind: "federated",
            applicationId: registration.applicationId,
            issuer: deployer.tenantId.apply((tenant) => federatedIssuer(cloud, tenant)),
            audience: cloud.tokenExchangeAudience,
          },
    rbacPropagationSeconds: settings.rbacPropagationSeconds,
    image: image.imageRef,
    registry: image.pullRegistry,
  },
  { providers },
);

// Who hears when the sync stops or loses data: nothing else tells anyone (no ingress, and the
// runtime's /metrics is not scraped).
const alerts =
  settings.alertEmails.length > 0
    ? new SyncAlerts(
        "alerts",
        {
          resourceGroupName: group.name,
          location: settings.location,
          workspaceId: service.logAnalyticsWorkspaceId,
          containerAppName: service.containerAppName,
          syncIntervalMinutes: settings.syncIntervalMinutes,
          emails: settings.alertEmails,
          clientSecretEndDate: clientSecret?.endDate,
        },
        { providers },
      )
    : undefined;
if (!alerts) {
  // A diagnostic for the engine to print; nothing waits on it.
  void pulumi.log.warn(
    'No alertEmails: nothing will tell anyone if the sync stops, loses records or cannot start. Set them with `pulumi config set alertEmails "admin@contoso.com"`.',
  );
}

// The app's application user in the CoE environment, made as the deployer (no `pac` step); with
// coeEnvironmentVariables, also the CoE flows' settings (the secret only as its Key Vault reference).
const appUser = settings.dataverseUrl
  ? new DataverseApplicationUser("coe-app-user", {
      environmentUrl: settings.dataverseUrl,
      applicationId: registration.clientId,
      roleName: settings.dataverseAppUserRole,
      environmentVariables: settings.coeEnvironmentVariables
        ? {
            admin_AuditLogsUseGraphAPI: settings.source === "graph" ? "yes" : "no",
            admin_AuditLogsAudience: cloud.audience,
            admin_AuditLogsAuthority: cloud.authority,
            admin_AuditLogsClientID: registration.clientId,
            // The CoE flows' secret, when the stack keeps one (clientSecret).
            ...(vault ? { admin_AuditLogsClientAzureSecret: vault.dataverseSecretReference } : {}),
          }
        : undefined,
    })
  : undefined;

// 5. Outputs. The secret value is never exported; only where it lives and when it expires.
export const cloudName = cloud.name;
export const tenantId = deployer.tenantId;
export const clientId = registration.clientId;
export const audience = cloud.audience;
export const auditSource = settings.source;
export const authority = cloud.authority;
export const runtimeCredential = settings.runtimeCredential;
export const keyVaultName = vault?.vaultName;
export const keyVaultUri = vault?.vaultUri;
export const clientSecretName = vault?.secretName;
export const clientSecretExpiresAt = clientSecret?.endDate;
export const clientSecretRotatesAt = clientSecret?.rotatesAt;
// Rotation refreshes only this timestamp and updates what depends on it; never the image.
export const clientSecretRotationUrn = clientSecret?.rotationUrn;
// What docs/deploy.md tells an admin (or a scheduled pipeline) to run in the rotation window.
export const clientSecretRotationCommand = clientSecret?.rotationUrn.apply(rotationCommand);
export const resourceGroupName = group.name;
export const storageAccountName = storage.accountName;
export const blobEndpoint = storage.blobEndpoint;
export const tableEndpoint = storage.tableEndpoint;
export const containerAppName = service.containerAppName;
export const logAnalyticsWorkspaceName = service.logAnalyticsWorkspaceName;
export const alertRuleNames = alerts?.ruleNames;
export const runtimeIdentityClientId = service.identityClientId;
export const registryName = image.registryName;
export const syncImage = image.imageRef;
export const dataverseApplicationUserId = appUser?.systemUserId;
// The CoE Starter Kit environment variables, named as in the seed document, so an admin who
// keeps the CoE flows can copy them (the secret itself is reached through Key Vault).
export const coeEnvironmentVariables = {
  "Audit Logs - Use Graph API": settings.source === "graph" ? "Yes" : "No",
  "Audit Logs - Audience": cloud.audience,
  "Audit Logs - Authority": cloud.authority,
  "Audit Logs - ClientID": registration.clientId,
  "Audit Logs - Client Azure Secret": vault?.dataverseSecretReference ?? "",
  "Audit Logs - Client Secret": "",
};
