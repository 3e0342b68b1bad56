/**
 * The sync runtime's environment for a running emulator, named by the runtime's deployment
 * contract (the same names the Pulumi program sets in Azure). The emulator itself never knows
 * them: it is a stand-in for Microsoft's services, written from Microsoft's docs.
 */
import {
  POWER_APPS_CONTENT_TYPE,
  type EnvName,
  type RuntimeCredential,
} from "../sync-runtime/contract";
import type { RunningEmulator } from "../emulator/index";

/**
 * Runtime variables, plus NODE_EXTRA_CA_CERTS so a child process trusts the emulator's CA, and
 * with the federated credential what Azure Container Apps set for a container with a managed
 * identity (IDENTITY_ENDPOINT, IDENTITY_HEADER: the platform's names, not the runtime's).
 */
export type RuntimeEnv = Partial<Record<EnvName, string>> & {
  NODE_EXTRA_CA_CERTS?: string;
  IDENTITY_ENDPOINT?: string;
  IDENTITY_HEADER?: string;
};

/**
 * What a runtime needs to read the emulator's tenant: credentials, endpoints and its CA.
 * `secret` (the default) signs in with the app's client secret; `federated` with the emulator's
 * managed identity, as a deployed stack does (`runtimeCredential: federated`): no secret at all.
 */
export function runtimeEnvFor(
  emulator: RunningEmulator,
  credential: RuntimeCredential = "secret",
): RuntimeEnv {
  const { tenant } = emulator;
  return {
    AUDIT_TENANT_ID: tenant.tenantId,
    AUDIT_CLIENT_ID: tenant.clientId,
    AUDIT_CREDENTIAL: credential,
    ...(credential === "secret"
      ? { AUDIT_CLIENT_SECRET: tenant.clientSecret }
      : {
          AZURE_CLIENT_ID: emulator.managedIdentity.clientId,
          IDENTITY_ENDPOINT: emulator.managedIdentity.endpoint,
          IDENTITY_HEADER: emulator.managedIdentity.header,
        }),
    AUDIT_AUTHORITY: emulator.authority,
    AUDIT_AUDIENCE: emulator.audience,
    // Used with AUDIT_SOURCE=graph and gap fills; the Management API path ignores it.
    AUDIT_GRAPH_ENDPOINT: emulator.graphUrl,
    AUDIT_CONTENT_TYPES: POWER_APPS_CONTENT_TYPE,
    // The tenant as publisher gives it its own quota, as the Pulumi program sets it in Azure.
    AUDIT_PUBLISHER_ID: tenant.tenantId,
    NODE_EXTRA_CA_CERTS: emulator.caCertPath,
    // The CoE environment, when the emulator runs one: the runtime then writes its tables too.
    ...(emulator.dataverse ? { AUDIT_DATAVERSE_URL: emulator.dataverse.url } : {}),
  };
}
