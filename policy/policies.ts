import type {
  PolicyResource,
  ReportViolation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationPolicy,
} from "@pulumi/policy";
import { SECRET_LIFETIME_DAYS } from "../components/config";
import { CONTAINER_APP_CHECKS } from "./rules/container-app";
import { checkClientSecret, DEFAULT_MAX_SECRET_LIFETIME_DAYS } from "./rules/client-secret";
import {
  checkApplicationPermissions,
  DEFAULT_ALLOWED_APIS,
  type AllowedApi,
} from "./rules/entra-app";
import { checkKeyVault, checkKeyVaultAuditLogs } from "./rules/key-vault";
import type { PolicySubject } from "./rules/resource";
import { ROLE_ASSIGNMENT_CHECKS } from "./rules/role-assignment";
import { checkArchiveProtection, checkStorageAccount } from "./rules/storage";

/** Config of the Entra app rule (`--policy-pack-config`, key entra-app-least-permissions). */
export interface EntraAppPermissionsConfig {
  readonly allowedApis?: readonly AllowedApi[];
}

/** Config of the client secret rule (key client-secret-lifetime). */
export interface ClientSecretLifetimeConfig {
  readonly maxSecretLifetimeDays?: number;
}

/** What a resource rule sees of the engine's arguments. */
function subjectOf(args: ResourceValidationArgs): PolicySubject {
  return { type: args.type, name: args.name, props: args.props, urn: args.urn };
}

/** Config of the archive rule (key storage-archive-protection). */
export interface ArchiveProtectionConfig {
  readonly requireProtect?: boolean;
}

/** What a stack rule sees of one resource: its property dependencies as URNs, its protection. */
function stackSubjectOf(resource: PolicyResource): PolicySubject {
  return {
    type: resource.type,
    name: resource.name,
    props: resource.props,
    urn: resource.urn,
    protect: resource.opts.protect,
    propertyDependencies: Object.fromEntries(
      Object.entries(resource.propertyDependencies ?? {}).map(([key, deps]) => [
        key,
        deps.map((d) => d.urn),
      ]),
    ),
  };
}

function report(reportViolation: ReportViolation, messages: readonly string[]): void {
  for (const message of messages) reportViolation(message);
}

type Check = (subject: PolicySubject, args: ResourceValidationArgs) => string[];

/**
 * A resource policy that reports every message its checks return for a resource. Each check is
 * its own validation, so one that reads a value unknown during preview (which the SDK reports
 * as "can't run … during preview", advisory) does not hide what the others find.
 */
function resourcePolicy(
  name: string,
  description: string,
  checks: Check | readonly Check[],
  extra: Pick<ResourceValidationPolicy, "configSchema"> = {},
): ResourceValidationPolicy {
  const list: readonly Check[] = typeof checks === "function" ? [checks] : checks;
  return {
    name,
    description,
    enforcementLevel: "mandatory",
    ...extra,
    validateResource: list.map(
      (check) => (args: ResourceValidationArgs, reportViolation: ReportViolation) =>
        report(reportViolation, check(subjectOf(args), args)),
    ),
  };
}

export const keyVaultHardening = resourcePolicy(
  "key-vault-rbac-and-purge-protection",
  "Key Vaults authorize with Azure RBAC and have purge protection.",
  checkKeyVault,
);

export const keyVaultAuditLogs: StackValidationPolicy = {
  name: "key-vault-audit-logs",
  description:
    "Every Key Vault sends its AuditEvent log (or the audit/allLogs group) to a Log Analytics workspace.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    for (const violation of checkKeyVaultAuditLogs(args.resources.map(stackSubjectOf))) {
      reportViolation(violation.message, violation.urn);
    }
  },
};

export const storageHardening = resourcePolicy(
  "storage-entra-only-tls12",
  "Storage accounts refuse shared keys and anonymous blob access and require TLS 1.2.",
  checkStorageAccount,
);

export const archiveProtection: StackValidationPolicy = {
  name: "storage-archive-protection",
  description:
    "Storage accounts are protected from deletion, keep deleted blobs and containers, and tier the raw archive down.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      requireProtect: {
        description:
          "Whether storage accounts must carry the protect option (false for a stack that set protectArchive false).",
        type: "boolean",
        default: true,
      },
    },
  },
  validateStack: (args, reportViolation) => {
    const config = args.getConfig<ArchiveProtectionConfig>();
    for (const violation of checkArchiveProtection(args.resources.map(stackSubjectOf), config)) {
      reportViolation(violation.message, violation.urn);
    }
  },
};

export const containerAppIsolation = resourcePolicy(
  "container-app-internal-single-pinned",
  "The Container App has no external ingress, at most one replica, and images pinned by digest.",
  CONTAINER_APP_CHECKS,
);

export const entraAppPermissions = resourcePolicy(
  "entra-app-least-permissions",
  "The Entra application requests only the application permissions the audit source needs.",
  (subject, args) =>
    checkApplicationPermissions(
      subject,
      args.getConfig<EntraAppPermissionsConfig>().allowedApis ?? DEFAULT_ALLOWED_APIS,
    ),
  {
    configSchema: {
      properties: {
        allowedApis: {
          description:
            "APIs the app may request app roles on: resourceAppId, maxRoles, optional roleIds " +
            "(pin them where they are the same in every tenant, e.g. Microsoft Graph).",
          type: "array",
          items: {
            type: "object",
            properties: {
              resourceAppId: { type: "string", minLength: 36, maxLength: 36 },
              maxRoles: { type: "integer", minimum: 0 },
              roleIds: { type: "array", items: { type: "string", minLength: 36, maxLength: 36 } },
              description: { type: "string" },
            },
            required: ["resourceAppId", "maxRoles"],
            additionalProperties: false,
          },
          default: DEFAULT_ALLOWED_APIS as AllowedApi[],
        },
      },
    },
  },
);

export const clientSecretLifetime = resourcePolicy(
  "client-secret-lifetime",
  "Client secrets have an end date no further than maxSecretLifetimeDays away.",
  (subject, args) =>
    checkClientSecret(subject, {
      maxLifetimeDays:
        args.getConfig<ClientSecretLifetimeConfig>().maxSecretLifetimeDays ??
        DEFAULT_MAX_SECRET_LIFETIME_DAYS,
    }),
  {
    configSchema: {
      properties: {
        maxSecretLifetimeDays: {
          description: `Longest a client secret may stay valid, in days (the program allows ${SECRET_LIFETIME_DAYS.min}-${SECRET_LIFETIME_DAYS.max}).`,
          type: "integer",
          minimum: 1,
          maximum: SECRET_LIFETIME_DAYS.max,
          default: DEFAULT_MAX_SECRET_LIFETIME_DAYS,
        },
      },
    },
  },
);

export const roleAssignmentScope = resourcePolicy(
  "role-assignment-resource-scope",
  "Role assignments are scoped to one resource and never grant Owner, Contributor or User Access Administrator.",
  ROLE_ASSIGNMENT_CHECKS,
);

/** Every policy of the pack, in the order the engine reports them. */
export const policies: (ResourceValidationPolicy | StackValidationPolicy)[] = [
  keyVaultHardening,
  keyVaultAuditLogs,
  storageHardening,
  archiveProtection,
  containerAppIsolation,
  entraAppPermissions,
  clientSecretLifetime,
  roleAssignmentScope,
];
