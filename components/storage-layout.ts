/**
 * Blob containers and tables the sync runtime uses. One module, so the storage account the
 * program creates and the names the runtime is told about cannot drift apart. (The runtime
 * also creates them if missing, e.g. against Azurite.)
 */
export const BLOB_CONTAINERS = {
  /** Raw audit records as gzip-compressed NDJSON, the archive to re-process from. */
  rawArchive: "audit-raw",
  /** The latest rendered usage report files. */
  reports: "reports",
} as const;

export const TABLES = {
  checkpoints: "checkpoints",
  contentIds: "contentids",
  launches: "launches",
  deletes: "deletes",
  apps: "apps",
  gaps: "gaps",
} as const;
