import { CONTAINERS } from "../../sync-runtime/contract";
import { describe, type PolicySubject, type StackViolation } from "./resource";

export const STORAGE_ACCOUNT_TYPE = "azure-native:storage:StorageAccount";
export const BLOB_SERVICE_TYPE = "azure-native:storage:BlobServiceProperties";
export const MANAGEMENT_POLICY_TYPE = "azure-native:storage:ManagementPolicy";
/** Shortest soft delete retention the pack accepts (a deletion noticed within a week). */
export const MIN_SOFT_DELETE_DAYS = 7;
/** The prefix of the raw archive, which a lifecycle rule must cover. */
export const RAW_ARCHIVE_PREFIX = `${CONTAINERS.rawArchive}/`;
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

/** The account's name: `name` in its outputs, `accountName` in its inputs. */
function accountNameOf(account: PolicySubject): unknown {
  return account.props.name ?? account.props.accountName;
}

/** True when a child settings resource is the account's: by the engine's dependency, or by name. */
function onAccount(child: PolicySubject, account: PolicySubject): boolean {
  if (account.urn !== undefined && child.propertyDependencies?.accountName?.includes(account.urn)) {
    return true;
  }
  const name = accountNameOf(account);
  return typeof name === "string" && child.props.accountName === name;
}

function retains(policy: any): boolean {
  return (
    policy?.enabled === true &&
    typeof policy.days === "number" &&
    policy.days >= MIN_SOFT_DELETE_DAYS
  );
}

/** A rule that tiers (or expires) block blobs under the raw archive's prefix. */
function coversRawArchive(rule: any): boolean {
  const filters = rule?.definition?.filters;
  const prefixes: unknown[] = Array.isArray(filters?.prefixMatch) ? filters.prefixMatch : [];
  const baseBlob = rule?.definition?.actions?.baseBlob ?? {};
  const tiers = ["tierToCool", "tierToCold", "tierToArchive"].some((t) => baseBlob[t] != null);
  return (
    rule?.enabled !== false &&
    prefixes.some((p) => typeof p === "string" && RAW_ARCHIVE_PREFIX.startsWith(p)) &&
    tiers
  );
}

/**
 * The audit archive cannot be fetched again once the API's days have passed, so every storage
 * account is protected from Pulumi deleting or replacing it (unless the pack's config says the
 * stack opted out), keeps deleted blobs and containers for at least a week, and has a lifecycle
 * rule that moves the raw archive out of the Hot tier.
 */
export function checkArchiveProtection(
  resources: readonly PolicySubject[],
  { requireProtect = true }: { requireProtect?: boolean } = {},
): StackViolation[] {
  const services = resources.filter((r) => r.type === BLOB_SERVICE_TYPE);
  const lifecycles = resources.filter((r) => r.type === MANAGEMENT_POLICY_TYPE);
  return resources
    .filter((r) => r.type === STORAGE_ACCOUNT_TYPE)
    .flatMap((account) => {
      const messages: string[] = [];
      if (requireProtect && account.protect !== true) {
        messages.push(
          `${describe(account)} must be protected: register it with the \`protect\` resource option ` +
            "(stack config protectArchive true), so `pulumi destroy` or a replacing change cannot delete the audit archive. " +
            "A stack that really deletes it sets requireProtect false in the pack config.",
        );
      }
      const service = services.find((s) => onAccount(s, account));
      if (
        !service ||
        !retains(service.props.deleteRetentionPolicy) ||
        !retains(service.props.containerDeleteRetentionPolicy)
      ) {
        messages.push(
          `${describe(account)} must keep deleted blobs and containers: add an azure-native ` +
            "storage.BlobServiceProperties on it with deleteRetentionPolicy and " +
            `containerDeleteRetentionPolicy enabled for at least ${MIN_SOFT_DELETE_DAYS} days ` +
            "(stack config softDeleteDays).",
        );
      }
      const rules = lifecycles
        .filter((l) => onAccount(l, account))
        .flatMap((l) => (Array.isArray(l.props.policy?.rules) ? l.props.policy.rules : []));
      if (!rules.some(coversRawArchive)) {
        messages.push(
          `${describe(account)} must tier its raw archive down: add an azure-native ` +
            `storage.ManagementPolicy with an enabled rule whose prefixMatch covers "${RAW_ARCHIVE_PREFIX}" ` +
            "and whose baseBlob action moves blobs to Cool, Cold or Archive (stack config archiveCoolDays).",
        );
      }
      return messages.map((message) => ({ urn: account.urn, message }));
    });
}
