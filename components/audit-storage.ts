import * as pulumi from "@pulumi/pulumi";
import * as storage from "@pulumi/azure-native/storage";
import { compactSlug, shortHash } from "./naming";
import { CONTAINERS, TABLES } from "../sync-runtime/contract";

export interface AuditStorageArgs {
  /** Resource group holding the account. */
  readonly resourceGroupName: pulumi.Input<string>;
  /** Azure region. */
  readonly location: pulumi.Input<string>;
  /** Stack name, readable part of the account name. */
  readonly stackName: string;
  /** Value that makes the account name globally unique (the resource group's name). */
  readonly nameSeed: pulumi.Input<string>;
  /**
   * Protect the account from deletion and replacement by Pulumi (`protect`, `retainOnDelete`).
   * Default: true.
   */
  readonly protect?: boolean;
  /** Days a deleted blob or container stays recoverable (soft delete). Default: 14. */
  readonly softDeleteDays?: number;
  /** Days after its last change a raw archive blob moves to the Cool tier. Default: 30. */
  readonly archiveCoolDays?: number;
  /** Days after its last change a raw archive blob is deleted. Default: never. */
  readonly archiveRetentionDays?: number;
}

/** Name of the lifecycle rule for the raw archive (the policy pack looks for its prefix). */
export const RAW_ARCHIVE_RULE = "raw-archive";

/**
 * The lifecycle rule of the raw archive: block blobs under the archive container's prefix move to
 * Cool after `coolDays` and, if a retention is set, are deleted after `retentionDays`, both
 * counted from their last modification (an archive blob is written once, when its content is
 * fetched). Reports, leases and quarantined blobs are small and stay where they are.
 */
export function rawArchiveLifecycleRule(coolDays: number, retentionDays?: number) {
  return {
    name: RAW_ARCHIVE_RULE,
    enabled: true,
    type: "Lifecycle",
    definition: {
      filters: { blobTypes: ["blockBlob"], prefixMatch: [`${CONTAINERS.rawArchive}/`] },
      actions: {
        baseBlob: {
          tierToCool: { daysAfterModificationGreaterThan: coolDays },
          ...(retentionDays === undefined
            ? {}
            : { delete: { daysAfterModificationGreaterThan: retentionDays } }),
        },
      },
    },
  };
}

/** Storage account name: `st<stack><hash>`, lowercase letters and digits, at most 24. */
export function storageAccountName(stackName: string, seed: string): string {
  return `st${compactSlug(stackName, 14)}${shortHash(seed)}`;
}

/**
 * Storage for checkpoints, de-duplication state, usage rows and the raw archive. Only
 * Entra-authenticated access (the runtime's managed identity): no shared keys, no public blobs.
 * The archive cannot be recreated once the API's 7 days have passed, so by default Pulumi may
 * neither delete nor replace the account, deleted blobs and containers stay recoverable for
 * `softDeleteDays`, and the raw archive cools down (and, if asked, expires) by lifecycle rule.
 */
export class AuditStorage extends pulumi.ComponentResource {
  /** ARM id of the account (scope of the runtime's data roles). */
  public readonly accountId: pulumi.Output<string>;
  /** Account name. */
  public readonly accountName: pulumi.Output<string>;
  /** Blob service endpoint, e.g. https://st….blob.core.windows.net/. */
  public readonly blobEndpoint: pulumi.Output<string>;
  /** Table service endpoint, e.g. https://st….table.core.windows.net/. */
  public readonly tableEndpoint: pulumi.Output<string>;

  constructor(name: string, args: AuditStorageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("coe-audit-sync:index:AuditStorage", name, {}, opts);
    const protect = args.protect ?? true;

    const account = new storage.StorageAccount(
      `${name}-account`,
      {
        resourceGroupName: args.resourceGroupName,
        location: args.location,
        accountName: pulumi
          .output(args.nameSeed)
          .apply((seed) => storageAccountName(args.stackName, seed)),
        kind: "StorageV2",
        sku: { name: "Standard_LRS" },
        allowSharedKeyAccess: false,
        allowBlobPublicAccess: false,
        defaultToOAuthAuthentication: true,
        enableHttpsTrafficOnly: true,
        minimumTlsVersion: "TLS1_2",
      },
      // `protect` makes the engine refuse any plan that deletes or replaces the account
      // (`pulumi destroy`, or a change such as `location` that forces a replacement) before it
      // touches anything; `retainOnDelete` keeps it in Azure if someone unprotects it in the
      // state only (`pulumi state unprotect`) and destroys.
      { parent: this, protect, retainOnDelete: protect },
    );

    // The blob service's one settings resource: soft delete for blobs and for whole
    // containers. No versioning: archive blobs are written once, and the report and lease blobs
    // rewritten every pass would pile up versions.
    const softDeleteDays = args.softDeleteDays ?? 14;
    new storage.BlobServiceProperties(
      `${name}-blob-service`,
      {
        resourceGroupName: args.resourceGroupName,
        accountName: account.name,
        blobServicesName: "default",
        deleteRetentionPolicy: { enabled: true, days: softDeleteDays },
        containerDeleteRetentionPolicy: { enabled: true, days: softDeleteDays },
      },
      // Kept with the account, so the data it holds stays recoverable after a partial destroy.
      { parent: this, protect, retainOnDelete: protect },
    );

    new storage.ManagementPolicy(
      `${name}-lifecycle`,
      {
        resourceGroupName: args.resourceGroupName,
        accountName: account.name,
        managementPolicyName: "default",
        policy: {
          rules: [rawArchiveLifecycleRule(args.archiveCoolDays ?? 30, args.archiveRetentionDays)],
        },
      },
      { parent: this, protect, retainOnDelete: protect },
    );

    // Containers and tables are created through ARM, which works with shared keys off.
    for (const containerName of Object.values(CONTAINERS)) {
      new storage.BlobContainer(
        `${name}-${containerName}`,
        {
          resourceGroupName: args.resourceGroupName,
          accountName: account.name,
          containerName,
          publicAccess: "None",
        },
        // Deleting a container or table deletes what is in it: they are protected with the
        // account, so `pulumi destroy --exclude-protected` leaves the data whole.
        { parent: this, protect, retainOnDelete: protect },
      );
    }
    for (const tableName of Object.values(TABLES)) {
      new storage.Table(
        `${name}-${tableName}`,
        { resourceGroupName: args.resourceGroupName, accountName: account.name, tableName },
        { parent: this, protect, retainOnDelete: protect },
      );
    }

    this.accountId = account.id;
    this.accountName = account.name;
    this.blobEndpoint = account.primaryEndpoints.blob;
    this.tableEndpoint = account.primaryEndpoints.table;

    this.registerOutputs({
      accountId: this.accountId,
      accountName: this.accountName,
      blobEndpoint: this.blobEndpoint,
      tableEndpoint: this.tableEndpoint,
    });
  }
}
