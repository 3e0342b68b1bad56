import { describe, type PolicySubject } from "./resource";

export const APPLICATION_TYPE = "azuread:index/application:Application";
/** appId of "Office 365 Management APIs" (the same in every cloud). */
export const OFFICE365_MANAGEMENT_APIS = "c5393580-f805-4401-95e8-94b7a6ef2fc2";
/** appId of Microsoft Graph, for a later Graph source (AuditLogsQuery.Read.All). */
export const MICROSOFT_GRAPH = "00000003-0000-0000-c000-000000000000";

/** An API the app may request application permissions (app roles) on. */
export interface AllowedApi {
  /** appId of the resource (API) application. */
  readonly resourceAppId: string;
  /** How many app roles (type "Role") the app may request on it. */
  readonly maxRoles: number;
  /**
   * The only role ids allowed, when they are the same in every tenant (Microsoft Graph's are).
   * Unset for the Management APIs, whose ActivityFeed.Read id the program looks up at deploy time.
   */
  readonly roleIds?: readonly string[];
  /** What it is for, shown in messages. */
  readonly description?: string;
}

/** What the Office 365 Management API source needs: ActivityFeed.Read, nothing else. */
export const DEFAULT_ALLOWED_APIS: readonly AllowedApi[] = [
  {
    resourceAppId: OFFICE365_MANAGEMENT_APIS,
    maxRoles: 1,
    description: "Office 365 Management APIs, ActivityFeed.Read",
  },
];

/**
 * The app registration requests no permission beyond what the audit source needs: only
 * application permissions (an unattended sync has no signed-in user, so a delegated scope is
 * never needed), only on allowed APIs, and no more of them than allowed.
 */
export function checkApplicationPermissions(
  app: PolicySubject,
  allowed: readonly AllowedApi[] = DEFAULT_ALLOWED_APIS,
): string[] {
  if (app.type !== APPLICATION_TYPE) return [];
  const requested = app.props.requiredResourceAccesses;
  if (requested === undefined || requested === null) return [];
  if (!Array.isArray(requested)) {
    return [`${describe(app)} has requiredResourceAccesses that are not a list.`];
  }
  const allowedText = allowed
    .map(
      (a) =>
        `${a.resourceAppId}${a.description ? ` (${a.description})` : ""}: ${a.maxRoles} role(s)`,
    )
    .join("; ");
  const violations: string[] = [];
  const rolesPerApi = new Map<string, number>();

  for (const entry of requested) {
    const appId = String(entry?.resourceAppId ?? "").toLowerCase();
    const rule = allowed.find((a) => a.resourceAppId.toLowerCase() === appId);
    const accesses: any[] = Array.isArray(entry?.resourceAccesses) ? entry.resourceAccesses : [];
    if (!rule) {
      violations.push(
        `${describe(app)} requests permissions on API ${entry?.resourceAppId ?? "(none)"}, which ` +
          `the audit source does not need: remove that requiredResourceAccesses entry (allowed: ${allowedText}).`,
      );
      continue;
    }
    for (const access of accesses) {
      if (access?.type !== "Role") {
        violations.push(
          `${describe(app)} requests ${JSON.stringify(access?.type)} permission ${access?.id} on ` +
            `${entry.resourceAppId}: only application permissions (type "Role") are allowed; a ` +
            "delegated scope acts for a signed-in user, which the unattended sync never has. Remove it.",
        );
        continue;
      }
      const roleId = String(access.id ?? "").toLowerCase();
      if (rule.roleIds && !rule.roleIds.some((id) => id.toLowerCase() === roleId)) {
        violations.push(
          `${describe(app)} requests app role ${access.id} on ${entry.resourceAppId}, which is not ` +
            `one of the allowed ${rule.roleIds.join(", ")}: remove it.`,
        );
      }
      rolesPerApi.set(appId, (rolesPerApi.get(appId) ?? 0) + 1);
    }
  }

  for (const rule of allowed) {
    const count = rolesPerApi.get(rule.resourceAppId.toLowerCase()) ?? 0;
    if (count > rule.maxRoles) {
      violations.push(
        `${describe(app)} requests ${count} app roles on ${rule.resourceAppId}` +
          `${rule.description ? ` (${rule.description})` : ""}, at most ${rule.maxRoles} allowed: ` +
          "keep only the permission the audit source needs.",
      );
    }
  }
  return violations;
}
