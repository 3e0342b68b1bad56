import { describe, type PolicySubject } from "./resource";

export const STORAGE_ACCOUNT_TYPE = "azure-native:storage:StorageAccount";
/** Minimum TLS versions at least as strict as TLS 1.2 (the azure-native enum's values). */
export const ACCEPTED_TLS_VERSIONS = ["TLS1_2", "TLS1_3"] as const;

/**
 * The account holds the raw audit archive and the usage rows: only Entra-authenticated access
 * (shared keys and SAS signed with them bypass RBAC and are not attributable), no anonymous
 * blob reads, and no TLS older than 1.2.
 */
export function checkStorageAccount(account: PolicySubject): string[] {
  if (account.type !== STORAGE_ACCOUNT_TYPE) return [];
  const props = account.props;
  const violations: string[] = [];
  if (props.allowSharedKeyAccess !== false) {
    violations.push(
      `${describe(account)} must refuse shared-key access: set allowSharedKeyAccess to false ` +
        "(Azure's default is true), so every request is Entra-authenticated and subject to RBAC.",
    );
  }
  if (props.allowBlobPublicAccess !== false) {
    violations.push(
      `${describe(account)} must forbid anonymous blob access: set allowBlobPublicAccess to false.`,
    );
  }
  if (!(ACCEPTED_TLS_VERSIONS as readonly unknown[]).includes(props.minimumTlsVersion)) {
    violations.push(
      `${describe(account)} must refuse TLS older than 1.2: set minimumTlsVersion to "TLS1_2" ` +
        `(found ${JSON.stringify(props.minimumTlsVersion) ?? "nothing, which lets Azure pick its default"}).`,
    );
  }
  return violations;
}
