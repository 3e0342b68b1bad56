import * as pulumi from "@pulumi/pulumi";
import * as azuread from "@pulumi/azuread";
import * as time from "@pulumiverse/time";

/** appId of "Office 365 Management APIs"; its service principal exists in every M365 tenant. */
export const OFFICE365_MANAGEMENT_APP_ID = "c5393580-f805-4401-95e8-94b7a6ef2fc2";
/** The application permission (app role) the sync needs. */
export const ACTIVITY_FEED_READ = "ActivityFeed.Read";
/**
 * appId of Microsoft Graph, the same in every tenant and cloud: the SDK the azuread provider is
 * built on names Graph by this one app id in the global, US Government L4 and L5 environments
 * (hashicorp/go-azure-sdk, sdk/environments: MicrosoftGraphAPI). Its app roles' ids are looked up
 * by value in the tenant (findAppRoleId), never trusted from one cloud.
 */
export const MICROSOFT_GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000";
/**
 * Graph's application permission for the audit log query API over every workload ("All Audit
 * Logs" in learn.microsoft.com/graph/api/security-auditcoreroot-post-auditlogqueries).
 */
export const AUDIT_LOGS_QUERY_READ_ALL = "AuditLogsQuery.Read.All";
/**
 * Graph's application permission to read every user's full profile
 * (learn.microsoft.com/graph/api/user-get, "Permissions"): the Dataverse sink's user details.
 */
export const USER_READ_ALL = "User.Read.All";

export interface AuditAppRegistrationArgs {
  /** Display name of the app registration (stack config `appDisplayName`, which has the default). */
  readonly displayName: pulumi.Input<string>;
  /**
   * Object ids owning the application and its service principal, set when they are created and
   * not changed afterwards (a later deployer never removes an owner). Default: none.
   */
  readonly owners?: pulumi.Input<pulumi.Input<string>[]>;
  /**
   * Whether the app gets a rotating client secret (for the CoE flows and other tools). Default:
   * true. false: no password and no rotation; the runtime then needs its federated credential.
   */
  readonly clientSecret?: boolean;
  /** Days a client secret stays valid (organisation policy). Default: 180. */
  readonly secretLifetimeDays?: pulumi.Input<number>;
  /**
   * Which audit APIs the app is given (declared and consented). Default: the Management API
   * only. Each is an application permission looked up by value on the API's service principal.
   */
  readonly apis?: { readonly managementApi: boolean; readonly graphAuditLogs: boolean };
  /** Also grant User.Read.All on Microsoft Graph (the Dataverse sink's user details). Default false. */
  readonly userDetails?: boolean;
}

/** The app's rotating client secret. */
export interface ClientSecretOutputs {
  /** The client secret value, marked secret. */
  readonly value: pulumi.Output<string>;
  /** Id of the current client secret (safe to show; it is not the value). */
  readonly keyId: pulumi.Output<string>;
  /** When the current client secret expires (RFC 3339). */
  readonly endDate: pulumi.Output<string>;
  /** From when a rotation replaces the secret (RFC 3339). */
  readonly rotatesAt: pulumi.Output<string>;
  /**
   * URN of the rotation timestamp: `pulumi refresh --target <it>`, then `pulumi up --target <it>
   * --target-dependents` rotates the secret and updates only what depends on it.
   */
  readonly rotationUrn: pulumi.Output<string>;
}

/**
 * The rotation, as two commands that touch as little as possible. Refresh reads only the
 * rotation timestamp (the provider drops it from the state once its time has come, which makes
 * the update create a new one); `pulumi up --refresh --target … --target-dependents` would also
 * refresh every dependent (pulumi/pulumi#18905), and azure-native refreshes are not always
 * idempotent (pulumi/pulumi-azure-native#2245). The update then replaces the rotation and
 * updates what derives from it: the password, the vault secret, and whatever reads the secret's
 * version or end date.
 */
export function rotationCommand(rotationUrn: string): string {
  const target = `'${rotationUrn}'`;
  return `pulumi refresh --target ${target} --yes && pulumi up --target ${target} --target-dependents --yes`;
}

/** The role id for `value`, looked up instead of trusting one cloud's literal. */
export function findAppRoleId(
  appRoles: readonly { id: string; value: string }[],
  value: string,
): string {
  const role = appRoles.find((r) => r.value === value);
  if (!role) {
    throw new Error(
      `The ${value === ACTIVITY_FEED_READ ? "Office 365 Management APIs" : "Microsoft Graph"} service principal has no app role "${value}" ` +
        `(found: ${appRoles.map((r) => r.value).join(", ") || "none"}). ` +
        "Check that the tenant has Microsoft 365 and that the azuread provider targets the right cloud.",
    );
  }
  return role.id;
}

/**
 * Days after which a new secret replaces the current one: the last 30 days of its life (half
 * of it for short lifetimes) are the window in which a `pulumi up --refresh` must run.
 */
export function rotationDaysFor(lifetimeDays: number): number {
  return lifetimeDays - Math.min(30, Math.floor(lifetimeDays / 2));
}

/** RFC 3339 end date `lifetimeDays` after `startRfc3339`, without milliseconds. */
export function secretEndDate(startRfc3339: string, lifetimeDays: number): string {
  const start = Date.parse(startRfc3339);
  if (Number.isNaN(start)) throw new Error(`Not an RFC 3339 timestamp: ${startRfc3339}`);
  return new Date(start + lifetimeDays * 86_400_000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** One audit API the app gets an application permission on. */
interface ApiGrant {
  readonly role: string;
  readonly resourceAppId: string;
  /** Logical name suffix of its consent (the Management API's keeps its original name). */
  readonly consentSuffix: string;
}

const MANAGEMENT_API_GRANT: ApiGrant = {
  role: ACTIVITY_FEED_READ,
  resourceAppId: OFFICE365_MANAGEMENT_APP_ID,
  consentSuffix: "consent",
};
const GRAPH_AUDIT_GRANT: ApiGrant = {
  role: AUDIT_LOGS_QUERY_READ_ALL,
  resourceAppId: MICROSOFT_GRAPH_APP_ID,
  consentSuffix: "graph-consent",
};
const USER_READ_GRANT: ApiGrant = {
  role: USER_READ_ALL,
  resourceAppId: MICROSOFT_GRAPH_APP_ID,
  consentSuffix: "users-consent",
};

/**
 * The Entra side of the seed document: a single-tenant app declaring ActivityFeed.Read on
 * Office 365 Management APIs (and/or AuditLogsQuery.Read.All on Microsoft Graph), its service
 * principal, admin consent (an app role assignment per API), and a rotating client secret.
 */
export class AuditAppRegistration extends pulumi.ComponentResource {
  /** Application (client) id. */
  public readonly clientId: pulumi.Output<string>;
  /** Resource id of the application (`/applications/{objectId}`), what its credentials attach to. */
  public readonly applicationId: pulumi.Output<string>;
  /** Object id of the app's service principal (the principal that holds the consent). */
  public readonly servicePrincipalObjectId: pulumi.Output<string>;
  /** ActivityFeed.Read role id as looked up in this tenant (when the Management API is used). */
  public readonly activityFeedReadRoleId: pulumi.Output<string> | undefined;
  /** AuditLogsQuery.Read.All role id as looked up in this tenant (when Graph is used). */
  public readonly auditLogsQueryReadRoleId: pulumi.Output<string> | undefined;
  /** User.Read.All role id as looked up in this tenant (with `userDetails`). */
  public readonly userReadAllRoleId: pulumi.Output<string> | undefined;
  /** The client secret, when the app has one (`clientSecret`). */
  public readonly secret: ClientSecretOutputs | undefined;

  constructor(
    name: string,
    args: AuditAppRegistrationArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("coe-audit-sync:index:AuditAppRegistration", name, {}, opts);

    const apis = args.apis ?? { managementApi: true, graphAuditLogs: false };
    const grants = [
      ...(apis.managementApi ? [MANAGEMENT_API_GRANT] : []),
      ...(apis.graphAuditLogs ? [GRAPH_AUDIT_GRANT] : []),
    ];
    if (grants.length === 0) throw new Error("AuditAppRegistration needs at least one audit API.");
    if (args.userDetails) grants.push(USER_READ_GRANT);
    const granted = grants.map((grant) => {
      // Read, never owned: `pulumi destroy` must not touch Microsoft's service principal.
      const resource = azuread.getServicePrincipalOutput(
        { clientId: grant.resourceAppId },
        { parent: this },
      );
      const roleId = resource.appRoles.apply((roles) => findAppRoleId(roles, grant.role));
      return { grant, resource, roleId };
    });
    const roleOf = (grant: ApiGrant) => granted.find((g) => g.grant === grant)?.roleId;
    this.activityFeedReadRoleId = roleOf(MANAGEMENT_API_GRANT);
    this.auditLogsQueryReadRoleId = roleOf(GRAPH_AUDIT_GRANT);
    this.userReadAllRoleId = roleOf(USER_READ_GRANT);

    const application = new azuread.Application(
      `${name}-app`,
      {
        displayName: args.displayName,
        signInAudience: "AzureADMyOrg",
        owners: args.owners,
        // Declares the permissions (what the portal shows under "API permissions"), one entry
        // per API with all of its roles, as the application manifest has them.
        requiredResourceAccesses: [...new Set(grants.map((g) => g.resourceAppId))].map(
          (resourceAppId) => ({
            resourceAppId,
            resourceAccesses: granted
              .filter(({ grant }) => grant.resourceAppId === resourceAppId)
              .map(({ roleId }) => ({ id: roleId, type: "Role" })),
          }),
        ),
      },
      // `owners` is authoritative: set from whoever runs `pulumi up` now, a consent admin or a
      // pipeline running the stack later would remove the original owner (and a pipeline with
      // only Application.ReadWrite.OwnedBy cannot change owners at all). Owners are set at
      // creation and then left alone; add more with `az ad app owner add` or the portal.
      // (azuread.ApplicationOwner cannot be combined with azuread.Application, see its docs.)
      { parent: this, ignoreChanges: ["owners"] },
    );

    const servicePrincipal = new azuread.ServicePrincipal(
      `${name}-sp`,
      { clientId: application.clientId, owners: args.owners },
      { parent: this, ignoreChanges: ["owners"] },
    );

    // "Grant admin consent" for an application permission is exactly this assignment.
    for (const { grant, resource, roleId } of granted) {
      new azuread.AppRoleAssignment(
        `${name}-${grant.consentSuffix}`,
        {
          appRoleId: roleId,
          principalObjectId: servicePrincipal.objectId,
          resourceObjectId: resource.objectId,
        },
        { parent: this },
      );
    }

    this.secret =
      args.clientSecret === false
        ? undefined
        : this.rotatingSecret(name, application, pulumi.output(args.secretLifetimeDays ?? 180));
    this.clientId = application.clientId;
    this.applicationId = application.id;
    this.servicePrincipalObjectId = servicePrincipal.objectId;

    this.registerOutputs({
      clientId: this.clientId,
      servicePrincipalObjectId: this.servicePrincipalObjectId,
      activityFeedReadRoleId: this.activityFeedReadRoleId,
      auditLogsQueryReadRoleId: this.auditLogsQueryReadRoleId,
      userReadAllRoleId: this.userReadAllRoleId,
      applicationId: this.applicationId,
      clientSecretKeyId: this.secret?.keyId,
      clientSecretEndDate: this.secret?.endDate,
    });
  }

  private rotatingSecret(
    name: string,
    application: azuread.Application,
    lifetimeDays: pulumi.Output<number>,
  ): ClientSecretOutputs {
    // Rotation without downtime: when the rotating timestamp expires, the password is
    // replaced. Pulumi creates the replacement before deleting the old one, so the vault
    // secret and a new Container App revision switch to the new value while the old one is
    // still valid (tokens already issued stay valid until they expire). A single password
    // with create-before-delete gives the overlap of a two-slot scheme with half the state.
    //
    // The lifetime is a trigger, not only an input of rotationDays: terraform-provider-time
    // applies a rotation_days change in place, recomputing the rotation from the original base
    // (resource_time_rotating.go, Update), and the end date below derives from that base, so
    // lowering the lifetime on an aged stack would give an end date already past. A changed
    // trigger replaces the resource instead (RequiresReplace), and Create takes "now" as the
    // new base: the new secret is valid for the whole new lifetime from today.
    const rotation = new time.Rotating(
      `${name}-secret-rotation`,
      {
        rotationDays: lifetimeDays.apply(rotationDaysFor),
        triggers: { lifetimeDays: lifetimeDays.apply(String) },
      },
      { parent: this },
    );
    // The end date derives from the rotation's stored timestamp, not from "now", so it stays
    // stable between deployments and changes only when the secret is rotated.
    const endDate = pulumi
      .all([rotation.rfc3339, lifetimeDays])
      .apply(([start, days]) => secretEndDate(start, days));
    const password = new azuread.ApplicationPassword(
      `${name}-secret`,
      {
        applicationId: application.id,
        displayName: pulumi.interpolate`coe-audit-sync ${rotation.rfc3339}`,
        startDate: rotation.rfc3339,
        endDate,
        rotateWhenChanged: { rotation: rotation.id },
      },
      { parent: this },
    );

    return {
      // Mocks do not apply the provider's secret marking, so wrap explicitly.
      value: pulumi.secret(password.value),
      keyId: password.keyId,
      endDate: password.endDate,
      rotatesAt: rotation.rotationRfc3339,
      rotationUrn: rotation.urn,
    };
  }
}
