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
}

/** Storage account name: `st<stack><hash>`, lowercase letters and digits, at most 24. */
export function storageAccountName(stackName: string, seed: string): string {
  return `st${compactSlug(stackName, 14)}${shortHash(seed)}`;
}

/**
 * Storage for checkpoints, de-duplication state, usage rows and the raw archive. Only
 * Entra-authenticated access (the runtime's managed identity): no shared keys, no public blobs.
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
      { parent: this },
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
        { parent: this },
      );
    }
    for (const tableName of Object.values(TABLES)) {
      new storage.Table(
        `${name}-${tableName}`,
        { resourceGroupName: args.resourceGroupName, accountName: account.name, tableName },
        { parent: this },
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
