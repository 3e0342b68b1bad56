/** Built-in Azure role definition ids (the same GUIDs in every Azure cloud). */
export const ROLES = {
  keyVaultSecretsUser: "4633458b-17de-408a-b874-0445c86b69e6",
  storageBlobDataContributor: "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
  storageTableDataContributor: "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
  acrPull: "7f951dda-4ed3-4680-a7ca-43fe172d538d",
} as const;

/** The subscription id inside any ARM resource id (`/subscriptions/{id}/...`). */
export function subscriptionIdOf(resourceId: string): string {
  const match = /^\/subscriptions\/([^/]+)(\/|$)/i.exec(resourceId);
  if (!match) throw new Error(`Not an Azure resource id: ${resourceId}`);
  return match[1];
}

/** Role assignments need the role's full id in the subscription that holds the scope. */
export function roleDefinitionId(scopeResourceId: string, roleGuid: string): string {
  return `/subscriptions/${subscriptionIdOf(scopeResourceId)}/providers/Microsoft.Authorization/roleDefinitions/${roleGuid}`;
}
