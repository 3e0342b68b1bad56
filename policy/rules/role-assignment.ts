import { describe, trailingGuid, type PolicySubject } from "./resource";

export const ROLE_ASSIGNMENT_TYPE = "azure-native:authorization:RoleAssignment";
/** Built-in roles that can change the resources or who has access to them. */
export const PRIVILEGED_ROLES: Readonly<Record<string, string>> = {
  "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
  "b24988ac-6180-42a0-ab88-20f7e7ecd512": "Contributor",
  "18d7d88d-d35e-4fb1-a5c3-55773558c8a9": "User Access Administrator",
};
/** A resource (or a child of one) inside a resource group, never the group or subscription. */
export const RESOURCE_SCOPE =
  /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/[^/]+\/[^/]+\/[^/]+(\/[^/]+\/[^/]+)*\/?$/i;

/** Scoped to one resource, never to a resource group, subscription or management group. */
export function checkScope(assignment: PolicySubject): string[] {
  if (assignment.type !== ROLE_ASSIGNMENT_TYPE) return [];
  const scope = assignment.props.scope;
  if (typeof scope === "string" && RESOURCE_SCOPE.test(scope)) return [];
  return [
    `${describe(assignment)} must be scoped to one resource (/subscriptions/…/resourceGroups/…/` +
      `providers/<namespace>/<type>/<name>), found ${JSON.stringify(scope) ?? "no scope"}: ` +
      "a subscription or resource group scope grants the role on everything in it. Use the id " +
      "of the resource the principal needs.",
  ];
}

/** Never Owner, Contributor or User Access Administrator. */
export function checkRole(assignment: PolicySubject): string[] {
  if (assignment.type !== ROLE_ASSIGNMENT_TYPE) return [];
  const roleId = trailingGuid(assignment.props.roleDefinitionId);
  if (roleId === undefined) {
    return [
      `${describe(assignment)} has no role definition id ending in a GUID ` +
        `(found ${JSON.stringify(assignment.props.roleDefinitionId) ?? "none"}).`,
    ];
  }
  const privileged = PRIVILEGED_ROLES[roleId];
  if (privileged === undefined) return [];
  return [
    `${describe(assignment)} grants ${privileged} (${roleId}), which can change resources or ` +
      "access to them: grant the narrow data role the principal needs instead (e.g. Key Vault " +
      "Secrets User, Storage Blob Data Contributor, AcrPull).",
  ];
}

/**
 * Every grant the stack makes is a data role on one resource (the storage account, the secret,
 * the registry). The policy runs the two checks separately: the scope is often the id of a
 * resource still to be created, unknown during preview, while the role is known.
 */
export const ROLE_ASSIGNMENT_CHECKS = [checkScope, checkRole] as const;

export function checkRoleAssignment(assignment: PolicySubject): string[] {
  return ROLE_ASSIGNMENT_CHECKS.flatMap((check) => check(assignment));
}
