import * as pulumi from "@pulumi/pulumi";
import * as azuread from "@pulumi/azuread";
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

/**
 * The smallest size Container Apps offers (consumption profile: 0.25 vCPU with 0.5 GiB), which
 * the bench shows is enough: a pass peaks at ~185 MiB RSS with 100 MB blobs and the report at
 * ~150 MiB over a million launches (bench/results.json; the runtime's memory budget is 256 MiB),
 * and the largest tenant's 7-day catch-up is bound by the API quota (~8,000 records/s) at a
 * twentieth of what the parse pipeline does on 2 cores, so an eighth of that CPU keeps up.
 */
export const CONTAINER_RESOURCES = { cpu: 0.25, memory: "0.5Gi" } as const;

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
  /**
   * Key Vault holding the client secret: its AuditEvent logs go to the service's workspace.
   * Default: none (the stack keeps no secret).
   */
  readonly vaultId?: pulumi.Input<string>;
  /** How the runtime authenticates as the app: a federated credential or the client secret. */
  readonly credential: RuntimeCredentialArgs;
  /**
   * Seconds to wait after the role assignments are created before the Container App is: Azure
   * RBAC takes minutes to propagate, and the app resolves its Key Vault reference and pulls its
   * image with the new identity at once. Default: 300.
   */
  readonly rbacPropagationSeconds?: number;
  /** Image to run. */
  readonly image: pulumi.Input<string>;
  /** Registry to pull from with the managed identity. Default: none (public/prebuilt image). */
  readonly registry?: { readonly server: pulumi.Input<string>; readonly id: pulumi.Input<string> };
}

/**
 * The runtime's credential. `federated`: the app trusts the runtime's identity (a federated
 * identity credential on the application), and the runtime presents that identity's token as
 * its client assertion; nothing secret reaches the Container App. `secret`: the client secret,
 * read from Key Vault by the identity.
 */
export type RuntimeCredentialArgs =
  | {
      readonly kind: "federated";
      /** Resource id of the application (`/applications/{objectId}`) that trusts the identity. */
      readonly applicationId: pulumi.Input<string>;
      /** Issuer of the identity's tokens: `{Entra login host}/{tenant}/v2.0`. */
      readonly issuer: pulumi.Input<string>;
      /** Audience of the identity's token: the cloud's token exchange audience. */
      readonly audience: string;
    }
  | {
      readonly kind: "secret";
      /** ARM id of the client secret (scope of the identity's Key Vault Secrets User). */
      readonly id: pulumi.Input<string>;
      /** Versioned URI of the client secret; pinning the version makes rotation explicit. */
      readonly uri: pulumi.Input<string>;
      /** Version of the client secret; a change starts a new revision. */
      readonly version: pulumi.Input<string>;
    };

/** The credential as the container's environment sees it (values, not resources). */
export type RuntimeCredentialEnv =
  | { readonly kind: "federated"; readonly audience: string }
  | { readonly kind: "secret"; readonly version: pulumi.Input<string> };

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
  /** Hours the first Management API pass reads back. Default: the runtime's. */
  readonly firstRunHours?: number;
  /** Days the graph source's first pass reads back (with a Graph endpoint). Default: the runtime's. */
  readonly graphBackfillDays?: number;
  readonly blobEndpoint: pulumi.Input<string>;
  readonly tableEndpoint: pulumi.Input<string>;
  /** The CoE environment for the Dataverse sink. Default: unset (sink off). */
  readonly dataverseUrl?: string;
  /** The sink fills the users' details from Graph (AUDIT_DATAVERSE_USER_DETAILS). Default false. */
  readonly dataverseUserDetails?: boolean;
  /**
   * Microsoft Graph root where the users' details are read, with `dataverseUserDetails`: the
   * cloud's own Graph, which GCC High and DoD have without the audit query API. Default: the
   * runtime's (the Graph of `audience`'s cloud).
   */
  readonly graphUsersEndpoint?: string;
}

export interface EnvVar {
  /** A variable of the runtime's deployment contract: a typo does not compile. */
  readonly name: EnvName;
  readonly value?: pulumi.Input<string>;
  readonly secretRef?: string;
}

/**
 * How the container authenticates. Federated: the identity (AZURE_CLIENT_ID) and the audience of
 * its token, nothing secret. Secret: the client secret only ever as a `secretRef` to the Key
 * Vault-backed app secret; AUDIT_CLIENT_SECRET_VERSION is revision-scoped on purpose, since
 * Container Apps reads a changed secret only in a new revision (the runtime logs it, so an
 * operator sees which version a revision runs with).
 */
function credentialEnvironment(credential: RuntimeCredentialEnv): EnvVar[] {
  if (credential.kind === "federated") {
    return [
      { name: "AUDIT_CREDENTIAL", value: "federated" },
      { name: "AUDIT_FEDERATED_AUDIENCE", value: credential.audience },
    ];
  }
  return [
    { name: "AUDIT_CREDENTIAL", value: "secret" },
    { name: "AUDIT_CLIENT_SECRET", secretRef: CLIENT_SECRET_REF },
    { name: "AUDIT_CLIENT_SECRET_VERSION", value: credential.version },
  ];
}

/** The container's environment, named by the runtime's deployment contract. */
export function runtimeEnvironment(
  settings: RuntimeSettings,
  identityClientId: pulumi.Input<string>,
  credential: RuntimeCredentialEnv,
): EnvVar[] {
  return [
    { name: "AUDIT_TENANT_ID", value: settings.tenantId },
    { name: "AUDIT_CLIENT_ID", value: settings.clientId },
    ...credentialEnvironment(credential),
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
    ...(settings.firstRunHours !== undefined
      ? [{ name: "AUDIT_FIRST_RUN_HOURS" as const, value: String(settings.firstRunHours) }]
      : []),
    // Only where Graph is read: the Management API ignores it.
    ...(settings.graphEndpoint && settings.graphBackfillDays !== undefined
      ? [{ name: "AUDIT_GRAPH_BACKFILL_DAYS" as const, value: String(settings.graphBackfillDays) }]
      : []),
    { name: "PORT", value: String(HEALTH_PORT) },
    ...(settings.dataverseUrl
      ? [{ name: "AUDIT_DATAVERSE_URL" as const, value: settings.dataverseUrl }]
      : []),
    ...(settings.dataverseUrl && settings.dataverseUserDetails
      ? [{ name: "AUDIT_DATAVERSE_USER_DETAILS" as const, value: "true" }]
      : []),
    ...(settings.dataverseUrl && settings.dataverseUserDetails && settings.graphUsersEndpoint
      ? [{ name: "AUDIT_GRAPH_USERS_ENDPOINT" as const, value: settings.graphUsersEndpoint }]
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
  /** ARM id of that workspace (scope of the alert rules). */
  public readonly logAnalyticsWorkspaceId: pulumi.Output<string>;

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
    ];
    const credential = args.credential;
    if (credential.kind === "secret") {
      // Scoped to the one secret: the identity reads the client secret and nothing else.
      grants.push({
        role: "vault-secrets",
        roleId: ROLES.keyVaultSecretsUser,
        scope: credential.id,
      });
    }
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
    if (args.vaultId !== undefined) {
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
    }

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
    // The federated credential propagates like a role assignment (AADSTS70021 until Entra
    // knows it; entra-docs workload-identity-federation-config-app-trust-managed-identity), so
    // the same wait covers it, and the app must not start before it exists.
    const federation =
      credential.kind === "federated"
        ? new azuread.ApplicationFederatedIdentityCredential(
            `${name}-federation`,
            {
              applicationId: credential.applicationId,
              displayName: "coe-audit-sync-runtime",
              description: "The sync runtime's user-assigned managed identity (Container App).",
              issuer: credential.issuer,
              // The identity's principal (object) id, not its client id.
              subject: identity.principalId,
              audiences: [credential.audience],
            },
            { parent: this },
          )
        : undefined;
    const awaited: pulumi.CustomResource[] = [
      ...roleAssignments,
      ...(federation ? [federation] : []),
    ];
    const propagation = new time.Sleep(
      `${name}-rbac-propagation`,
      {
        createDuration: `${args.rbacPropagationSeconds ?? DEFAULT_RBAC_PROPAGATION_SECONDS}s`,
        triggers: {
          ...Object.fromEntries(
            roleAssignments.map((assignment, i) => [`assignment${i}`, assignment.id]),
          ),
          ...(federation ? { federation: federation.id } : {}),
        },
      },
      { parent: this, dependsOn: awaited },
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
          secrets:
            credential.kind === "secret"
              ? [{ name: CLIENT_SECRET_REF, keyVaultUrl: credential.uri, identity: identity.id }]
              : undefined,
          registries: args.registry
            ? [{ server: args.registry.server, identity: identity.id }]
            : undefined,
        },
        template: {
          containers: [
            {
              name: "sync",
              image: args.image,
              env: runtimeEnvironment(
                args.runtime,
                identity.clientId,
                credential.kind === "secret"
                  ? { kind: "secret", version: credential.version }
                  : { kind: "federated", audience: credential.audience },
              ),
              resources: CONTAINER_RESOURCES,
              probes,
            },
          ],
          scale: { minReplicas: 1, maxReplicas: 1 },
        },
      },
      // The identity must already hold its roles (and be trusted by the app) when the first
      // revision pulls the image, resolves the Key Vault reference and signs in, or it fails.
      { parent: this, dependsOn: [propagation] },
    );

    this.containerAppName = containerApp.name;
    this.identityClientId = identity.clientId;
    this.identityPrincipalId = identity.principalId;
    this.logAnalyticsWorkspaceName = workspace.name;
    this.logAnalyticsWorkspaceId = workspace.id;

    this.registerOutputs({
      containerAppName: this.containerAppName,
      identityClientId: this.identityClientId,
      identityPrincipalId: this.identityPrincipalId,
      logAnalyticsWorkspaceName: this.logAnalyticsWorkspaceName,
      logAnalyticsWorkspaceId: this.logAnalyticsWorkspaceId,
    });
  }
}
