import { TableClient } from "@azure/data-tables";
import type { TokenCredential } from "@azure/identity";
import { DefaultAzureCredential } from "@azure/identity";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { CONTAINERS, TABLES, type TableName } from "../../contract";
import { StorageError } from "../core/errors";
import type { StorageOptions } from "./options";

/** How the runtime reaches its storage account. */
export type StorageConfig =
  | { kind: "connection-string"; connectionString: string }
  | { kind: "managed-identity"; blobEndpoint: string; tableEndpoint: string; clientId: string };

/** Every table, by name (the deployment contract's list). */
const TABLE_NAMES = Object.values(TABLES);

export interface Storage {
  table(name: TableName): TableClient;
  raw: ContainerClient;
  reports: ContainerClient;
  leases: ContainerClient;
  quarantine: ContainerClient;
  /** Creates missing tables and containers (idempotent); run once at start. */
  ensure(options?: StorageOptions): Promise<void>;
}

/**
 * Opens the storage account either by connection string (Azurite, development) or by endpoints
 * with a managed identity (production: shared keys are disabled on the account).
 */
export function openStorage(config: StorageConfig, credential?: TokenCredential): Storage {
  let tables: Record<TableName, TableClient>;
  let blobs: BlobServiceClient;
  if (config.kind === "connection-string") {
    const insecure =
      /(BlobEndpoint|TableEndpoint)=http:|UseDevelopmentStorage=true|DefaultEndpointsProtocol=http;/i.test(
        config.connectionString,
      );
    tables = Object.fromEntries(
      TABLE_NAMES.map((t) => [
        t,
        TableClient.fromConnectionString(config.connectionString, t, {
          allowInsecureConnection: insecure,
        }),
      ]),
    ) as Record<TableName, TableClient>;
    blobs = BlobServiceClient.fromConnectionString(config.connectionString);
  } else {
    const cred =
      credential ?? new DefaultAzureCredential({ managedIdentityClientId: config.clientId });
    const insecure = config.tableEndpoint.startsWith("http:");
    tables = Object.fromEntries(
      TABLE_NAMES.map((t) => [
        t,
        new TableClient(config.tableEndpoint, t, cred, { allowInsecureConnection: insecure }),
      ]),
    ) as Record<TableName, TableClient>;
    blobs = new BlobServiceClient(config.blobEndpoint, cred);
  }
  const raw = blobs.getContainerClient(CONTAINERS.rawArchive);
  const reports = blobs.getContainerClient(CONTAINERS.reports);
  const leases = blobs.getContainerClient(CONTAINERS.leases);
  const quarantine = blobs.getContainerClient(CONTAINERS.quarantine);
  return {
    table: (name) => tables[name],
    raw,
    reports,
    leases,
    quarantine,
    async ensure(options = {}) {
      const { abortSignal } = options;
      try {
        await Promise.all([
          ...TABLE_NAMES.map((t) => tables[t].createTable({ abortSignal })),
          ...[raw, reports, leases, quarantine].map((c) => c.createIfNotExists({ abortSignal })),
        ]);
      } catch (cause) {
        abortSignal?.throwIfAborted();
        throw new StorageError(
          `Could not open the storage account (${describeStorageFailure(cause)}). Check AUDIT_STORAGE_CONNECTION_STRING, or AUDIT_BLOB_ENDPOINT/AUDIT_TABLE_ENDPOINT and that the identity AZURE_CLIENT_ID has the Storage Blob Data Contributor and Storage Table Data Contributor roles.`,
          { cause },
        );
      }
    },
  };
}

export function describeStorageFailure(cause: unknown): string {
  const e = cause as { statusCode?: number; code?: string; message?: string };
  return [e.statusCode, e.code, e.message?.split("\n")[0]].filter(Boolean).join(" ");
}
