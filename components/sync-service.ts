import * as pulumi from "@pulumi/pulumi";
import * as app from "@pulumi/azure-native/app";
import * as authorization from "@pulumi/azure-native/authorization";
import * as managedidentity from "@pulumi/azure-native/managedidentity";
import * as monitor from "@pulumi/azure-native/monitor";
import * as operationalinsights from "@pulumi/azure-native/operationalinsights";
import * as time from "@pulumiverse/time";
import { HEALTH_PORT, type AuditSource, type EnvName } from "../sync-runtime/contract";
import { ROLES, roleDefinitionId } from "./roles";

/** How long a first deployment waits for new role assignments to take effect. */
export const DEFAULT_RBAC_PROPAGATION_SECONDS = 300;

/** Container App secret name holding the Key Vault reference to the client secret. */
export const CLIENT_SECRET_REF = "audit-client-secret";

export interface SyncServiceArgs {
  /** Resource group holding the service. */
  readonly resourceGroupName: pulumi.Input<string>;
  /** ARM id of that resource group (gives the subscription of the role definitions). */
  readonly resourceGroupId: pulumi.Input<string>;
  /** Azure region. */
  readonly location: pulumi.Input<string>;
  /** Runtime settings that become environment variables. */
  readonly runtime: RuntimeSettings;
  /** Storage account the runtime writes to (scope of its data roles). */
  readonly storageAccountId: pulumi.Input<string>;
  /** Key Vault holding the client secret: its AuditEvent logs go to the service's workspace. */
  readonly vaultId: pulumi.Input<string>;
  /** ARM id of the client secret (scope of the identity's Key Vault Secrets User). */
  readonly clientSecretId: pulumi.Input<string>;
  /**
   * Seconds to wait after the role assignments are created before the Container App is: Azure
   * RBAC takes minutes to propagate, and the app resolves its Key Vault reference and pulls its
   * image with the new identity at once. Default: 300.
   */
  readonly rbacPropagationSeconds?: number;
  /** Versioned URI of the client secret; pinning the version makes rotation explicit. */
  readonly clientSecretUri: pulumi.Input<string>;
  /** Version of the client secret; a change starts a new revision. */
  readonly clientSecretVersion: pulumi.Input<string>;
  /** Image to run. */
  readonly image: pulumi.Input<string>;
  /** Registry to pull from with the managed identity. Default: none (public/prebuilt image). */
  readonly registry?: { readonly server: pulumi.Input<string>; readonly id: pulumi.Input<string> };
}

/** The values of the runtime's environment contract (sync-runtime issue), one field each. */
export interface RuntimeSettings {
  readonly tenantId: pulumi.Input<string>;
  readonly clientId: pulumi.Input<string>;
  readonly authority: pulumi.Input<string>;
  readonly audience: pulumi.Input<string>;
  readonly contentTypes: readonly string[];
  /** Where the runtime reads records: managementApi or graph. Default managementApi. */
  readonly source?: AuditSource;
  /** Microsoft Graph root, where the app holds AuditLogsQuery.Read.All. Default: none. */
  readonly graphEndpoint?: string;
  readonly syncIntervalMinutes: number;
  readonly blobEndpoint: pulumi.Input<string>;
  readonly tableEndpoint: pulumi.Input<string>;
  /** The CoE environment for the Dataverse sink. Default: unset (sink off). */
  readonly dataverseUrl?: string;
}

export interface EnvVar {
  /** A variable of the runtime's deployment contract: a typo does not compile. */
  readonly name: EnvName;
  readonly value?: pulumi.Input<string>;
  readonly secretRef?: string;
}

/**
 * The container's environment, named by the runtime's deployment contract. The client secret only
 * ever appears as a `secretRef` to the Key Vault-backed app secret; AUDIT_CLIENT_SECRET_VERSION is
 * revision-scoped on purpose, since Container Apps reads a changed secret only in a new revision
 * (the runtime logs it, so an operator sees which version a revision runs with).
 */
export function runtimeEnvironment(
  settings: RuntimeSettings,
  identityClientId: pulumi.Input<string>,
  clientSecretVersion: pulumi.Input<string>,
): EnvVar[] {
  return [
    { name: "AUDIT_TENANT_ID", value: settings.tenantId },
    { name: "AUDIT_CLIENT_ID", value: settings.clientId },
    { name: "AUDIT_CLIENT_SECRET", secretRef: CLIENT_SECRET_REF },
    { name: "AUDIT_CLIENT_SECRET_VERSION", value: clientSecretVersion },
    { name: "AUDIT_AUTHORITY", value: settings.authority },
    { name: "AUDIT_AUDIENCE", value: settings.audience },
    { name: "AUDIT_CONTENT_TYPES", value: settings.contentTypes.join(",") },
    { name: "AUDIT_SOURCE", value: settings.source ?? "managementApi" },
    ...(settings.graphEndpoint
      ? [{ name: "AUDIT_GRAPH_ENDPOINT" as const, value: settings.graphEndpoint }]
      : []),
    // Our own tenant id as publisher gives the tenant its own throttling quota.
    { name: "AUDIT_PUBLISHER_ID", value: settings.tenantId },
    { name: "AUDIT_BLOB_ENDPOINT", value: settings.blobEndpoint },
    { name: "AUDIT_TABLE_ENDPOINT", value: settings.tableEndpoint },
    { name: "AZURE_CLIENT_ID", value: identityClientId },
    { name: "AUDIT_SYNC_INTERVAL_MINUTES", value: String(settings.syncIntervalMinutes) },
    { name: "PORT", value: String(HEALTH_PORT) },
    ...(settings.dataverseUrl
      ? [{ name: "AUDIT_DATAVERSE_URL" as const, value: settings.dataverseUrl }]
      : []),
  ];
}

/**
 * The sync runtime as a Container App: one replica (a single writer of the checkpoints), no
 * ingress, a user-assigned identity whose role assignments exist before the app starts.
 */
export class SyncService extends pulumi.ComponentResource {
  /** Container App name. */
  public readonly containerAppName: pulumi.Output<string>;
  /** Client id of the runtime's managed identity. */
  public readonly identityClientId: pulumi.Output<string>;
  /** Principal (object) id of the runtime's managed identity. */
  public readonly identityPrincipalId: pulumi.Output<string>;
  /** Log Analytics workspace name (container logs). */
  public readonly logAnalyticsWorkspaceName: pulumi.Output<string>;

  constructor(name: string, args: SyncServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("coe-audit-sync:index:SyncService", name, {}, opts);

    const identity = new managedidentity.UserAssignedIdentity(
      `${name}-identity`,
      { resourceGroupName: args.resourceGroupName, location: args.location },
      { parent: this },
    );

    const grants: { role: string; roleId: string; scope: pulumi.Input<string> }[] = [
      { role: "blob-data", roleId: ROLES.storageBlobDataContributor, scope: args.storageAccountId },
      {
        role: "table-data",
        roleId: ROLES.storageTableDataContributor,
        scope: args.storageAccountId,
      },
      // Scoped to the one secret: the identity reads the client secret and nothing else.
      { role: "vault-secrets", roleId: ROLES.keyVaultSecretsUser, scope: args.clientSecretId },
    ];
    if (args.registry) {
      grants.push({ role: "acr-pull", roleId: ROLES.acrPull, scope: args.registry.id });
    }
    const roleAssignments = grants.map(
      (grant) =>
        new authorization.RoleAssignment(
          `${name}-${grant.role}`,
          {
            scope: grant.scope,
            principalId: identity.principalId,
            // Set explicitly so ARM does not look up a just-created principal that has not
            // replicated yet.
            principalType: "ServicePrincipal",
            roleDefinitionId: pulumi
              .output(args.resourceGroupId)
              .apply((id) => roleDefinitionId(id, grant.roleId)),
          },
          { parent: this },
        ),
    );

    const workspace = new operationalinsights.Workspace(
      `${name}-logs`,
      {
        resourceGroupName: args.resourceGroupName,
        location: args.location,
        sku: { name: "PerGB2018" },
        retentionInDays: 30,
      },
      { parent: this },
    );
    // Who read or changed the vault's secrets, kept beside the container logs.
    new monitor.DiagnosticSetting(
      `${name}-vault-audit`,
      {
        resourceUri: args.vaultId,
        workspaceId: workspace.id,
        logs: [{ category: "AuditEvent", enabled: true }],
      },
      { parent: this },
    );

    const workspaceKeys = operationalinsights.getSharedKeysOutput(
      { resourceGroupName: args.resourceGroupName, workspaceName: workspace.name },
      { parent: this },
    );

    const environment = new app.ManagedEnvironment(
      `${name}-env`,
      {
        resourceGroupName: args.resourceGroupName,
        location: args.location,
        appLogsConfiguration: {
          destination: "log-analytics",
          logAnalyticsConfiguration: {
            customerId: workspace.customerId,
            sharedKey: pulumi.secret(workspaceKeys.apply((k) => k.primarySharedKey ?? "")),
          },
        },
      },
      { parent: this },
    );

    // Startup and liveness use /healthz (the process serves). /readyz ("a pass succeeded") is
    // deliberately not a readiness gate: without ingress there is no traffic to hold back, and a
    // first pass that fails because fresh consent has not propagated yet would mark the revision
    // unhealthy and fail `pulumi up`. /readyz stays available to monitoring.
    const healthz = { path: "/healthz", port: HEALTH_PORT };
    const probes = [
      { type: "Startup", httpGet: healthz, periodSeconds: 10, failureThreshold: 30 },
      { type: "Liveness", httpGet: healthz, periodSeconds: 30, failureThreshold: 3 },
    ];

    // dependsOn orders creation only; a new assignment takes minutes to reach the services that
    // check it (learn.microsoft.com, "Troubleshoot Azure RBAC": changes can take up to 10
    // minutes; microsoft/azure-container-apps issues "Unable to get value using Managed
    // identity"). Wait once, on create (or when an assignment is replaced), not on every update.
    const propagation = new time.Sleep(
      `${name}-rbac-propagation`,
      {
        createDuration: `${args.rbacPropagationSeconds ?? DEFAULT_RBAC_PROPAGATION_SECONDS}s`,
        triggers: Object.fromEntries(
          roleAssignments.map((assignment, i) => [`assignment${i}`, assignment.id]),
        ),
      },
      { parent: this, dependsOn: roleAssignments },
    );

    const containerApp = new app.ContainerApp(
      `${name}-app`,
      {
        resourceGroupName: args.resourceGroupName,
        location: args.location,
        managedEnvironmentId: environment.id,
        identity: { type: "UserAssigned", userAssignedIdentities: [identity.id] },
        configuration: {
          activeRevisionsMode: "Single",
          // No `ingress`: nothing reaches the runtime from outside; probes go to the port.
          secrets: [
            { name: CLIENT_SECRET_REF, keyVaultUrl: args.clientSecretUri, identity: identity.id },
          ],
          registries: args.registry
            ? [{ server: args.registry.server, identity: identity.id }]
            : undefined,
        },
        template: {
          containers: [
            {
              name: "sync",
              image: args.image,
              env: runtimeEnvironment(args.runtime, identity.clientId, args.clientSecretVersion),
              resources: { cpu: 0.5, memory: "1Gi" },
              probes,
            },
          ],
          scale: { minReplicas: 1, maxReplicas: 1 },
        },
      },
      // The identity must already hold its roles when the first revision pulls the image and
      // resolves the Key Vault reference, or that revision fails.
      { parent: this, dependsOn: [propagation] },
    );

    this.containerAppName = containerApp.name;
    this.identityClientId = identity.clientId;
    this.identityPrincipalId = identity.principalId;
    this.logAnalyticsWorkspaceName = workspace.name;

    this.registerOutputs({
      containerAppName: this.containerAppName,
      identityClientId: this.identityClientId,
      identityPrincipalId: this.identityPrincipalId,
      logAnalyticsWorkspaceName: this.logAnalyticsWorkspaceName,
    });
  }
}
