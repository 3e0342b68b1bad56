import * as pulumi from "@pulumi/pulumi";
import * as azuread from "@pulumi/azuread";
import * as authorization from "@pulumi/azure-native/authorization";
import * as keyvault from "@pulumi/azure-native/keyvault";
import { compactSlug, shortHash } from "./naming";
import { ROLES, roleDefinitionId } from "./roles";

/** appId of Dataverse ("Common Data Service"), which resolves Key Vault environment variables. */
export const DATAVERSE_APP_ID = "00000007-0000-0000-c000-000000000000";

export interface AuditKeyVaultArgs {
  /** Resource group holding the vault. */
  readonly resourceGroupName: pulumi.Input<string>;
  /** ARM id of that resource group (gives the subscription of the role definitions). */
  readonly resourceGroupId: pulumi.Input<string>;
  /** Azure region. */
  readonly location: pulumi.Input<string>;
  /** Entra tenant that authorizes access to the vault: the Azure subscription's tenant. */
  readonly tenantId: pulumi.Input<string>;
  /** Stack name, readable part of the vault name. */
  readonly stackName: string;
  /** Value that makes the vault name unique per deployment (the resource group's name). */
  readonly nameSeed: pulumi.Input<string>;
  /** The client secret value; must be a secret Output. */
  readonly clientSecret: pulumi.Input<string>;
  /** Expiry of the client secret (RFC 3339), copied to the vault secret's attributes. */
  readonly clientSecretEndDate: pulumi.Input<string>;
  /** Name of the vault secret. Default: "audit-client-secret". */
  readonly secretName?: string;
  /** Grant the Dataverse service principal Key Vault Secrets User (CoE flows). Default: false. */
  readonly grantDataverseAccess?: boolean;
}

/**
 * Key Vault name: `kv-<stack>-<hash>` within 24 characters. The hash of the seed makes it
 * globally unique and new for every fresh deployment, so soft-deleted leftovers (whose names
 * stay reserved while purge protection lasts) never collide with it.
 */
export function keyVaultName(stackName: string, seed: string): string {
  const stack = compactSlug(stackName, 12);
  return stack ? `kv-${stack}-${shortHash(seed)}` : `kv-${shortHash(seed)}`;
}

/**
 * The reference a Dataverse "Audit Logs - Client Azure Secret" environment variable expects:
 * the ARM id of the secret, without version, so Dataverse always reads the current value.
 */
export function dataverseSecretReference(vaultId: string, secretName: string): string {
  if (
    !/^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.KeyVault\/vaults\/[^/]+$/i.test(
      vaultId,
    )
  ) {
    throw new Error(`Not a Key Vault resource id: ${vaultId}`);
  }
  return `${vaultId}/secrets/${secretName}`;
}

/** The version segment of a versioned secret URI (`https://…/secrets/{name}/{version}`). */
export function secretVersionOf(secretUriWithVersion: string): string {
  const match = /\/secrets\/[^/]+\/([^/]+)\/?$/.exec(secretUriWithVersion);
  if (!match) throw new Error(`Not a versioned Key Vault secret URI: ${secretUriWithVersion}`);
  return match[1];
}

/**
 * A vault with RBAC authorization, soft delete and purge protection, holding the client secret.
 * The secret is written through ARM (the control plane), so the deployer needs write access to
 * the vault resource (Contributor), not a data-plane role such as Key Vault Secrets Officer.
 */
export class AuditKeyVault extends pulumi.ComponentResource {
  /** ARM id of the vault (its audit logs go to the stack's workspace). */
  public readonly vaultId: pulumi.Output<string>;
  /** ARM id of the client secret (scope of the Key Vault Secrets User assignments). */
  public readonly secretId: pulumi.Output<string>;
  /** Vault name. */
  public readonly vaultName: pulumi.Output<string>;
  /** Vault URI, e.g. https://kv-….vault.azure.net/ (the DNS suffix differs per cloud). */
  public readonly vaultUri: pulumi.Output<string>;
  /** Name of the secret holding the client secret. */
  public readonly secretName: pulumi.Output<string>;
  /** Versioned secret URI; it changes whenever the client secret rotates. */
  public readonly secretUriWithVersion: pulumi.Output<string>;
  /** Version of the current secret (not secret itself). */
  public readonly secretVersion: pulumi.Output<string>;
  /** Reference for the CoE "Audit Logs - Client Azure Secret" environment variable. */
  public readonly dataverseSecretReference: pulumi.Output<string>;

  constructor(name: string, args: AuditKeyVaultArgs, opts?: pulumi.ComponentResourceOptions) {
    super("coe-audit-sync:index:AuditKeyVault", name, {}, opts);
    const secretName = args.secretName ?? "audit-client-secret";

    const vault = new keyvault.Vault(
      `${name}-vault`,
      {
        resourceGroupName: args.resourceGroupName,
        location: args.location,
        vaultName: pulumi.output(args.nameSeed).apply((seed) => keyVaultName(args.stackName, seed)),
        properties: {
          tenantId: args.tenantId,
          sku: { family: "A", name: "standard" },
          enableRbacAuthorization: true,
          enableSoftDelete: true,
          enablePurgeProtection: true,
          softDeleteRetentionInDays: 90,
        },
      },
      { parent: this },
    );

    const secret = new keyvault.Secret(
      `${name}-secret`,
      {
        resourceGroupName: args.resourceGroupName,
        vaultName: vault.name,
        secretName,
        properties: {
          // Straight from the password resource: nobody copies (or mistakes the id for) it.
          value: pulumi.secret(args.clientSecret),
          contentType: "Entra client secret (value) for the Office 365 Management Activity API",
          attributes: {
            expires: pulumi
              .output(args.clientSecretEndDate)
              .apply((end) => Math.floor(Date.parse(end) / 1000)),
          },
        },
      },
      // azure-native writes a vault secret through ARM but deletes it through the vault's data
      // plane (provider/pkg/resources/customresources/custom_keyvault.go in
      // pulumi/pulumi-azure-native), which on an RBAC vault needs secrets/delete: a role the
      // deployer (Owner or Contributor) does not have, so `pulumi destroy` would stop with 403.
      // The secret goes with its vault instead: deleting the vault soft-deletes it and
      // everything in it (purge protection keeps it recoverable, unreadable, for 90 days).
      { parent: this, retainOnDelete: true },
    );

    if (args.grantDataverseAccess) {
      // Dataverse resolves Key Vault environment variables with its own service principal.
      const dataverse = azuread.getServicePrincipalOutput(
        { clientId: DATAVERSE_APP_ID },
        { parent: this },
      );
      new authorization.RoleAssignment(
        `${name}-dataverse-reader`,
        {
          // The one secret, not the vault: Dataverse reads this value and nothing else.
          scope: secret.id,
          principalId: dataverse.objectId,
          principalType: "ServicePrincipal",
          roleDefinitionId: pulumi
            .output(args.resourceGroupId)
            .apply((id) => roleDefinitionId(id, ROLES.keyVaultSecretsUser)),
        },
        { parent: this },
      );
    }

    this.vaultId = vault.id;
    this.secretId = secret.id;
    this.vaultName = vault.name;
    this.vaultUri = vault.properties.apply((p) => p.vaultUri ?? "");
    this.secretName = secret.name;
    this.secretUriWithVersion = secret.properties.secretUriWithVersion;
    this.secretVersion = this.secretUriWithVersion.apply(secretVersionOf);
    this.dataverseSecretReference = vault.id.apply((id) =>
      dataverseSecretReference(id, secretName),
    );

    this.registerOutputs({
      vaultId: this.vaultId,
      secretId: this.secretId,
      vaultName: this.vaultName,
      vaultUri: this.vaultUri,
      secretName: this.secretName,
      secretUriWithVersion: this.secretUriWithVersion,
      secretVersion: this.secretVersion,
      dataverseSecretReference: this.dataverseSecretReference,
    });
  }
}
