import { describe, type PolicySubject, type StackViolation } from "./resource";

export const KEY_VAULT_TYPE = "azure-native:keyvault:Vault";
/**
 * azure-native 3.x registers diagnostic settings as `monitor:DiagnosticSetting`; the
 * `insights:` token is the alias older stacks and versions used.
 */
export const DIAGNOSTIC_SETTING_TYPES = [
  "azure-native:monitor:DiagnosticSetting",
  "azure-native:insights:DiagnosticSetting",
] as const;
/** The Key Vault log category that records every data-plane access (who read which secret). */
export const AUDIT_EVENT_CATEGORY = "AuditEvent";
/** Category groups that include AuditEvent. */
export const AUDIT_CATEGORY_GROUPS = ["audit", "allLogs"] as const;

/**
 * The vault holds the client secret: access is decided by Azure RBAC (role assignments that
 * policy and `az role assignment list` can see, not per-vault access policies), and purge
 * protection keeps a deleted vault and its secret recoverable for the retention period.
 */
export function checkKeyVault(vault: PolicySubject): string[] {
  if (vault.type !== KEY_VAULT_TYPE) return [];
  const properties = vault.props.properties;
  const violations: string[] = [];
  if (properties?.enableRbacAuthorization !== true) {
    violations.push(
      `${describe(vault)} must authorize data-plane access with Azure RBAC: set ` +
        "properties.enableRbacAuthorization to true (access policies grant per vault, outside role assignments).",
    );
  }
  if (properties?.enablePurgeProtection !== true) {
    violations.push(
      `${describe(vault)} must have purge protection: set properties.enablePurgeProtection to ` +
        "true, so a deleted vault and its secrets cannot be purged during the retention period.",
    );
  }
  return violations;
}

function isDiagnosticSetting(subject: PolicySubject): boolean {
  return (DIAGNOSTIC_SETTING_TYPES as readonly string[]).includes(subject.type);
}

/** The vault's name: `name` in its outputs, `vaultName` in its inputs. */
function vaultNameOf(vault: PolicySubject): unknown {
  return vault.props.name ?? vault.props.vaultName;
}

/** True when the setting's resourceUri is the vault: by value, or by the engine's dependency. */
function targets(setting: PolicySubject, vault: PolicySubject): boolean {
  if (vault.urn !== undefined && setting.propertyDependencies?.resourceUri?.includes(vault.urn)) {
    return true;
  }
  const uri = setting.props.resourceUri;
  const name = vaultNameOf(vault);
  if (typeof uri !== "string" || typeof name !== "string") return false;
  return (
    /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.KeyVault\/vaults\/([^/]+)\/?$/i
      .exec(uri)?.[1]
      ?.toLowerCase() === name.toLowerCase()
  );
}

/** True when the setting sends the vault's AuditEvent log (itself or in a group) to a workspace. */
function sendsAuditEventsToWorkspace(setting: PolicySubject): boolean {
  const workspaceId = setting.props.workspaceId;
  if (typeof workspaceId !== "string" || workspaceId === "") return false;
  const logs = setting.props.logs;
  if (!Array.isArray(logs)) return false;
  return logs.some(
    (log) =>
      log?.enabled === true &&
      (log.category === AUDIT_EVENT_CATEGORY ||
        (AUDIT_CATEGORY_GROUPS as readonly string[]).includes(log.categoryGroup)),
  );
}

/**
 * Every vault has a diagnostic setting on it that sends AuditEvent (or the audit/allLogs
 * category group) to a Log Analytics workspace: without it, nobody can tell who read the secret.
 */
export function checkKeyVaultAuditLogs(resources: readonly PolicySubject[]): StackViolation[] {
  const settings = resources.filter(isDiagnosticSetting);
  return resources
    .filter((r) => r.type === KEY_VAULT_TYPE)
    .filter((vault) => {
      const onVault = settings.filter((setting) => targets(setting, vault));
      return !onVault.some(sendsAuditEventsToWorkspace);
    })
    .map((vault) => ({
      urn: vault.urn,
      message:
        `${describe(vault)} has no diagnostic setting sending its ${AUDIT_EVENT_CATEGORY} log to a ` +
        "Log Analytics workspace: add an azure-native monitor.DiagnosticSetting with resourceUri " +
        `set to the vault's id, workspaceId set, and logs [{ category: "${AUDIT_EVENT_CATEGORY}", ` +
        'enabled: true }] (or categoryGroup "audit"), so every read of the secret is recorded.',
    }));
}
