import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import * as https from "node:https";
import * as pulumi from "@pulumi/pulumi";
import { CLOUDS, type CloudName } from "../../components/clouds";
import { rotationDaysFor, secretEndDate } from "../../components/audit-app-registration";
import { ROLES } from "../../components/roles";
import { isoMinutes } from "../../components/sync-alerts";
import { REPO_ROOT, acrBuildCommand, runtimeSourceHash } from "../../components/sync-image";
import {
  CONTAINERS,
  ENV,
  ENV_NAMES,
  LOG_EVENTS,
  TABLES,
  type EnvVarContract,
} from "../../sync-runtime/contract";
import { loadConfig } from "../../sync-runtime/src/app/config";
import {
  MOCK,
  ProgramMocks,
  isSerialisedSecret,
  promiseOf,
  settle,
  type ProgramMocksOptions,
  type RecordedResource,
} from "./mocks";
import { PROJECT, STACK_FILES, readStackConfig } from "./stack-files";
import { refreshTokenFor, startFakeAcr, type ExchangeCall, type FakeAcr } from "./fake-acr";

const T = {
  azureProvider: "pulumi:providers:azure-native",
  entraProvider: "pulumi:providers:azuread",
  application: "azuread:index/application:Application",
  servicePrincipal: "azuread:index/servicePrincipal:ServicePrincipal",
  consent: "azuread:index/appRoleAssignment:AppRoleAssignment",
  password: "azuread:index/applicationPassword:ApplicationPassword",
  rotation: "time:index/rotating:Rotating",
  resourceGroup: "azure-native:resources:ResourceGroup",
  vault: "azure-native:keyvault:Vault",
  vaultSecret: "azure-native:keyvault:Secret",
  storage: "azure-native:storage:StorageAccount",
  blobService: "azure-native:storage:BlobServiceProperties",
  lifecycle: "azure-native:storage:ManagementPolicy",
  container: "azure-native:storage:BlobContainer",
  table: "azure-native:storage:Table",
  roleAssignment: "azure-native:authorization:RoleAssignment",
  identity: "azure-native:managedidentity:UserAssignedIdentity",
  registry: "azure-native:containerregistry:Registry",
  image: "docker-build:index:Image",
  command: "command:local:Command",
  environment: "azure-native:app:ManagedEnvironment",
  containerApp: "azure-native:app:ContainerApp",
  sleep: "time:index/sleep:Sleep",
  staticTime: "time:index/static:Static",
  diagnosticSetting: "azure-native:monitor:DiagnosticSetting",
  workspace: "azure-native:operationalinsights:Workspace",
  actionGroup: "azure-native:monitor:ActionGroup",
  alertRule: "azure-native:monitor:ScheduledQueryRule",
  federation:
    "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential",
} as const;

type Program = typeof import("../../index");

// The program logs in to the registry it creates through `https://<loginServer>/oauth2/exchange`.
// The mocks give every registry the login server of a local HTTPS fake, whose CA the process's
// default agent trusts for this file only, so the real exchange code runs without network.
let acr: FakeAcr;
let defaultCa: https.AgentOptions["ca"];
beforeAll(async () => {
  acr = await startFakeAcr();
  defaultCa = https.globalAgent.options.ca;
  https.globalAgent.options.ca = acr.caCertPem;
});
afterAll(async () => {
  https.globalAgent.options.ca = defaultCa;
  await acr?.stop();
});

/** Sets mocks first, then config, then imports a fresh copy of the program. */
async function runProgram(
  stack: string,
  config: Record<string, string>,
  { preview = false, ...options }: { preview?: boolean } & ProgramMocksOptions = {},
): Promise<{ mocks: ProgramMocks; program: Program; exchanges: ExchangeCall[] }> {
  // Role assignments answer late: if the app did not wait for them, it would register first.
  const mocks = new ProgramMocks({
    delays: { [T.roleAssignment]: 25 },
    registryLoginServer: acr.loginServer,
    ...options,
  });
  await pulumi.runtime.setMocks(mocks, PROJECT, stack, preview);
  mocks.recordOptions();
  pulumi.runtime.setAllConfig(config);
  acr.calls.length = 0;
  vi.resetModules();
  const program = await import("../../index");
  await settle();
  return { mocks, program, exchanges: [...acr.calls] };
}

/**
 * What `--target <urn> --target-dependents` reaches: the resource and everything downstream of
 * it, by the dependencies each registration sent (logical names are unique in this program).
 */
function dependentsOf(mocks: ProgramMocks, urn: string): Set<string> {
  const nameOf = (u: string) => u.split("::").pop()!;
  const reached = new Set([nameOf(urn)]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [name, options] of mocks.optionsByName) {
      if (reached.has(name)) continue;
      if (options.dependencies.some((d) => reached.has(nameOf(d)))) {
        reached.add(name);
        grew = true;
      }
    }
  }
  return reached;
}

/** A recorded input, with the runtime's secret envelope removed if there is one. */
function revealed(value: unknown): any {
  return isSerialisedSecret(value) ? value.value : value;
}

function envOf(app: RecordedResource): Record<string, { value?: string; secretRef?: string }> {
  const env: { name: string; value?: string; secretRef?: string }[] =
    app.inputs.template.containers[0].env;
  return Object.fromEntries(env.map(({ name, ...rest }) => [name, rest]));
}

/** Every exported value, resolved (Outputs inside objects included). */
async function exportedValues(program: Program): Promise<Record<string, unknown>> {
  const entries = Object.entries(program);
  const values = await Promise.all(entries.map(([, v]) => promiseOf(pulumi.output(v))));
  return Object.fromEntries(entries.map(([k], i) => [k, values[i]]));
}

describe.each(Object.entries(STACK_FILES))("stack %s (%s)", (stack, file) => {
  const config = readStackConfig(file);
  const cloudName = config["coe-audit-sync:cloud"] as CloudName;
  const cloud = CLOUDS[cloudName];
  let mocks: ProgramMocks;
  let program: Program;
  let exchanges: ExchangeCall[];

  beforeAll(async () => {
    ({ mocks, program, exchanges } = await runProgram(stack, config));
  });

  it("ships a valid cloud and location in the stack file", () => {
    expect(cloud, `unknown cloud in ${file}`).toBeDefined();
    expect(config["azure-native:location"]).toMatch(/^[a-z0-9]+$/);
  });

  it("configures both providers for the cloud's Azure and Entra environment", () => {
    const azure = mocks.one(T.azureProvider);
    expect(azure.inputs.environment).toBe(cloud.azureNativeEnvironment);
    expect(azure.inputs.location).toBe(config["azure-native:location"]);
    expect(mocks.one(T.entraProvider).inputs.environment).toBe(cloud.azureadEnvironment);
  });

  it("creates every Azure and Entra resource and lookup through those providers", () => {
    const cloudResources = mocks.resources.filter(
      (r) => r.custom && /^(azure-native|azuread):/.test(r.type),
    );
    expect(cloudResources.length).toBeGreaterThan(10);
    for (const r of cloudResources) {
      const expected = r.type.startsWith("azuread:")
        ? "pulumi:providers:azuread::entra"
        : "pulumi:providers:azure-native::azure";
      expect(r.provider, `${r.type} ${r.name}`).toContain(expected);
    }
    for (const call of mocks.invokes) {
      const expected = call.token.startsWith("azuread:")
        ? "pulumi:providers:azuread::entra"
        : "pulumi:providers:azure-native::azure";
      expect(call.provider, call.token).toContain(expected);
    }
  });

  it("groups the resources in components named coe-audit-sync:index:<Class>", () => {
    const components = mocks.resources.filter((r) => !r.custom).map((r) => [r.type, r.name]);
    expect(components.sort()).toEqual(
      [
        ["coe-audit-sync:index:AuditAppRegistration", "audit-app"],
        ["coe-audit-sync:index:AuditKeyVault", "audit-vault"],
        ["coe-audit-sync:index:AuditStorage", "audit-data"],
        ["coe-audit-sync:index:SyncImage", "sync-image"],
        ["coe-audit-sync:index:SyncService", "sync"],
      ].sort(),
    );
    const prefixes = components.map(([, name]) => `${name}-`);
    const loose = mocks.resources.filter(
      (r) =>
        r.custom &&
        !r.type.startsWith("pulumi:providers:") &&
        !prefixes.some((p) => r.name.startsWith(p)),
    );
    expect(loose.map((r) => r.type)).toEqual([T.resourceGroup]);
  });

  it("makes no lookup the mocks do not answer (no network call)", () => {
    expect(new Set(mocks.invokes.map((c) => c.token))).toEqual(
      new Set([
        "azuread:index/getClientConfig:getClientConfig",
        "azuread:index/getServicePrincipal:getServicePrincipal",
        "azure-native:operationalinsights:getSharedKeys",
        "azure-native:authorization:getClientConfig",
      ]),
    );
  });

  it("passes the cloud's audience and authority to the runtime and the outputs", async () => {
    const env = envOf(mocks.one(T.containerApp));
    expect(env.AUDIT_AUDIENCE.value).toBe(cloud.audience);
    expect(env.AUDIT_AUTHORITY.value).toBe(cloud.authority);
    expect(await promiseOf(pulumi.output(program.audience))).toBe(cloud.audience);
    expect(await promiseOf(pulumi.output(program.authority))).toBe(cloud.authority);
    const coe = await promiseOf(pulumi.output(program.coeEnvironmentVariables));
    expect(coe["Audit Logs - Audience"]).toBe(cloud.audience);
    expect(coe["Audit Logs - Authority"]).toBe(cloud.authority);
  });

  it("declares ActivityFeed.Read with the looked-up role id and grants consent with it", () => {
    const app = mocks.one(T.application);
    expect(app.inputs.signInAudience).toBe("AzureADMyOrg");
    expect(app.inputs.requiredResourceAccesses).toEqual([
      {
        resourceAppId: "c5393580-f805-4401-95e8-94b7a6ef2fc2",
        resourceAccesses: [{ id: MOCK.activityFeedReadRoleId, type: "Role" }],
      },
    ]);
    const sp = mocks.one(T.servicePrincipal);
    expect(sp.inputs.clientId).toBe(app.state.clientId);
    const consent = mocks.one(T.consent);
    expect(consent.inputs).toEqual({
      appRoleId: MOCK.activityFeedReadRoleId,
      principalObjectId: sp.state.objectId,
      resourceObjectId: MOCK.managementApisObjectId,
    });
  });

  it("reads the Microsoft-owned service principal instead of managing it", () => {
    expect(mocks.ofType(T.servicePrincipal).map((r) => r.inputs.clientId)).not.toContain(
      "c5393580-f805-4401-95e8-94b7a6ef2fc2",
    );
    expect(
      mocks.invokes.some((c) => c.inputs.clientId === "c5393580-f805-4401-95e8-94b7a6ef2fc2"),
    ).toBe(true);
  });

  it("gives the client secret the configured lifetime and a rotation before it ends", () => {
    const days = Number(config["coe-audit-sync:secretLifetimeDays"] ?? 180);
    const rotation = mocks.one(T.rotation);
    expect(rotation.inputs.rotationDays).toBe(rotationDaysFor(days));
    expect(rotation.inputs.rotationDays).toBeLessThan(days);
    const password = mocks.one(T.password);
    expect(password.inputs.endDate).toBe(secretEndDate(MOCK.rotationBase, days));
    expect(password.inputs.rotateWhenChanged).toEqual({ rotation: MOCK.rotationBase });
    expect(password.inputs.applicationId).toBe(
      `/applications/${mocks.one(T.application).state.objectId}`,
    );
  });

  it("stores the password's value as a secret in the vault and nowhere else", async () => {
    const secret = mocks.one(T.vaultSecret);
    // The runtime sends the whole `properties` object as secret when a value inside is secret.
    expect(isSerialisedSecret(secret.inputs.properties)).toBe(true);
    expect(secret.inputs.properties.value.value).toBe(MOCK.passwordValue);
    for (const r of mocks.resources.filter((r) => r !== secret)) {
      expect(JSON.stringify(r.inputs), `${r.type} ${r.name}`).not.toContain(MOCK.passwordValue);
    }
    expect(JSON.stringify(mocks.invokes)).not.toContain(MOCK.passwordValue);
    const exported = await exportedValues(program);
    expect(JSON.stringify(exported)).not.toContain(MOCK.passwordValue);
    for (const [name, value] of Object.entries(program)) {
      expect(await pulumi.isSecret(pulumi.output(value)), name).toBe(false);
    }
  });

  it("creates an RBAC vault with soft delete, purge protection and a name within 24 chars", () => {
    const vault = mocks.one(T.vault);
    expect(vault.inputs.properties).toMatchObject({
      tenantId: MOCK.subscriptionTenantId,
      enableRbacAuthorization: true,
      enableSoftDelete: true,
      enablePurgeProtection: true,
    });
    expect(vault.inputs.properties.accessPolicies).toBeUndefined();
    expect(vault.inputs.vaultName.length).toBeLessThanOrEqual(24);
    expect(vault.inputs.vaultName).toMatch(/^[a-z][a-z0-9-]*[a-z0-9]$/);
  });

  it("grants the runtime identity exactly its roles, the vault role on the client secret only", () => {
    const identity = mocks.one(T.identity);
    const vault = mocks.one(T.vault);
    const storage = mocks.one(T.storage);
    const registry = mocks.one(T.registry);
    const grants = mocks
      .ofType(T.roleAssignment)
      .filter((r) => r.inputs.principalId === identity.state.principalId)
      .map((r) => [r.inputs.roleDefinitionId, r.inputs.scope, r.inputs.principalType]);
    const role = (guid: string) =>
      `/subscriptions/${MOCK.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${guid}`;
    expect(grants).toEqual(
      expect.arrayContaining([
        [role(ROLES.storageBlobDataContributor), storage.id, "ServicePrincipal"],
      ]),
    );
    const byRole = Object.fromEntries(grants.map(([roleId, scope]) => [roleId, scope]));
    // Federated by default: the identity signs in as the app and never reads the vault.
    expect(byRole).toEqual({
      [role(ROLES.storageBlobDataContributor)]: storage.id,
      [role(ROLES.storageTableDataContributor)]: storage.id,
      [role(ROLES.acrPull)]: registry.id,
    });
    expect(mocks.one(T.vaultSecret).id).toMatch(
      new RegExp(`/vaults/${vault.state.name}/secrets/audit-client-secret$`),
    );
    expect(grants).toHaveLength(3);
  });

  it("lets the app trust the runtime identity with the cloud's issuer, subject and audience", () => {
    const federation = mocks.one(T.federation);
    const identity = mocks.one(T.identity);
    const host =
      cloud.azureNativeEnvironment === "usgovernment"
        ? "https://login.microsoftonline.us"
        : "https://login.microsoftonline.com";
    const audience =
      cloud.azureNativeEnvironment === "usgovernment"
        ? "api://AzureADTokenExchangeUSGov"
        : "api://AzureADTokenExchange";
    expect(federation.inputs).toMatchObject({
      applicationId: `/applications/${mocks.one(T.application).state.objectId}`,
      issuer: `${host}/${MOCK.tenantId}/v2.0`,
      // The principal (object) id, not the client id.
      subject: identity.state.principalId,
      audiences: [audience],
    });
    expect(federation.provider).toContain("pulumi:providers:azuread::entra");
    const env = envOf(mocks.one(T.containerApp));
    expect(env.AUDIT_CREDENTIAL).toEqual({ value: "federated" });
    expect(env.AUDIT_FEDERATED_AUDIENCE).toEqual({ value: audience });
    expect(env.AZURE_CLIENT_ID).toEqual({ value: identity.state.clientId });
  });

  it("starts the Container App only after the federated credential exists and propagated", () => {
    const federation = mocks.one(T.federation);
    const sleep = mocks.one(T.sleep);
    expect(mocks.optionsOf(sleep.name).dependencies).toContainEqual(
      expect.stringMatching(new RegExp(`::${federation.name}$`)),
    );
    expect(sleep.inputs.triggers.federation).toBe(federation.id);
    const appStart = mocks.events.indexOf(`start:${mocks.one(T.containerApp).name}`);
    expect(mocks.events.indexOf(`done:${federation.name}`)).toBeGreaterThanOrEqual(0);
    expect(appStart).toBeGreaterThan(mocks.events.indexOf(`done:${federation.name}`));
  });

  it("lets no secret reach the Container App with the federated credential", () => {
    const app = mocks.one(T.containerApp);
    expect(app.inputs.configuration.secrets).toBeUndefined();
    const env = envOf(app);
    expect(env.AUDIT_CLIENT_SECRET).toBeUndefined();
    expect(env.AUDIT_CLIENT_SECRET_VERSION).toBeUndefined();
    expect(Object.values(env).filter((v) => v.secretRef !== undefined)).toEqual([]);
    const inputs = JSON.stringify(app.inputs);
    expect(inputs).not.toContain(MOCK.passwordValue);
    expect(inputs).not.toContain("vault.azure.net");
    expect(inputs).not.toContain(mocks.one(T.vaultSecret).id);
    // Nor anything the app starts after: it waits on nothing of the vault.
    const vaultNames = [mocks.one(T.vault).name, mocks.one(T.vaultSecret).name];
    expect(
      mocks
        .optionsOf(app.name)
        .dependencies.filter((d) => vaultNames.some((n) => d.endsWith(`::${n}`))),
    ).toEqual([]);
  });

  it("waits for the role assignments to propagate before the Container App, once", () => {
    const [sleep] = mocks.ofType(T.sleep);
    expect(mocks.ofType(T.sleep)).toHaveLength(1);
    expect(sleep.inputs.createDuration).toBe(
      `${config["coe-audit-sync:rbacPropagationSeconds"] ?? 300}s`,
    );
    // Creation only: an update of the app does not wait again.
    expect(sleep.inputs.destroyDuration).toBeUndefined();
    const urnOf = (r: RecordedResource) => expect.stringMatching(new RegExp(`::${r.name}$`));
    const identity = mocks.one(T.identity);
    const grants = mocks
      .ofType(T.roleAssignment)
      .filter((r) => r.inputs.principalId === identity.state.principalId);
    expect(mocks.optionsOf(sleep.name).dependencies).toEqual(
      expect.arrayContaining(grants.map(urnOf)),
    );
    const { federation, ...assignments } = sleep.inputs.triggers;
    expect(federation).toBe(mocks.one(T.federation).id);
    expect(Object.values(assignments).sort()).toEqual(grants.map((g) => g.id).sort());
    expect(mocks.optionsOf(mocks.one(T.containerApp).name).dependencies).toEqual(
      expect.arrayContaining([urnOf(sleep)]),
    );
  });

  it("documents a rotation that refreshes only the rotation, then updates its dependents", async () => {
    const urn = await promiseOf(pulumi.output(program.clientSecretRotationUrn));
    const command = await promiseOf(pulumi.output(program.clientSecretRotationCommand));
    const [refresh, up] = command!.split(" && ");
    // The refresh reads the one timestamp: no other target, no dependents (pulumi/pulumi#18905).
    expect(refresh).toBe(`pulumi refresh --target '${urn}' --yes`);
    expect(refresh).not.toContain("--target-dependents");
    expect(up).toBe(`pulumi up --target '${urn}' --target-dependents --yes`);
    expect(up).not.toContain("--refresh");
    // What the update reaches, exactly: the rotation, the password and the vault secret.
    const reached = [...dependentsOf(mocks, urn!)].sort();
    const expected = [T.rotation, T.password, T.vaultSecret].map((t) => mocks.one(t).name);
    expect(reached).toEqual(expect.arrayContaining(expected));
    const other = reached.filter((name) => !expected.includes(name));
    // Anything else it reaches only reads the secret's end date (the expiry alert, when set).
    for (const name of other) {
      const r = mocks.resources.find((x) => x.name === name)!;
      expect(r.type, name).toBe("azure-native:monitor:ScheduledQueryRule");
    }
  });

  it("rotates the secret through the rotation's dependents only, never the image", async () => {
    const rotation = mocks.one(T.rotation);
    const urn = await promiseOf(pulumi.output(program.clientSecretRotationUrn));
    expect(urn).toMatch(new RegExp(`Rotating::${rotation.name}$`));
    const reachedNames = dependentsOf(mocks, urn!);
    const reached = [...reachedNames];
    expect(reached).toEqual(
      expect.arrayContaining([mocks.one(T.password).name, mocks.one(T.vaultSecret).name]),
    );
    // With the federated credential the runtime does not use the secret: rotating it leaves the
    // Container App (and its revision) alone.
    for (const type of [T.command, T.registry, T.storage, T.vault, T.containerApp]) {
      for (const r of mocks.ofType(type)) expect(reached, r.name).not.toContain(r.name);
    }
  });

  it("lets destroy delete the vault secret with its vault, not through the data plane", () => {
    expect(mocks.optionsOf(mocks.one(T.vaultSecret).name).retainOnDelete).toBe(true);
    // Everything else is deleted by its provider as usual, but for the protected archive.
    const retained = mocks.resources.filter((r) => mocks.optionsOf(r.name).retainOnDelete);
    expect([...new Set(retained.map((r) => r.type))].sort()).toEqual(
      [
        T.vaultSecret,
        T.resourceGroup,
        T.storage,
        T.container,
        T.table,
        T.blobService,
        T.lifecycle,
      ].sort(),
    );
  });

  it("protects the archive's account, everything in it, and its resource group", () => {
    const kept = [
      T.storage,
      T.resourceGroup,
      T.container,
      T.table,
      T.blobService,
      T.lifecycle,
    ].flatMap((t) => mocks.ofType(t));
    expect(kept.length).toBe(4 + Object.keys(CONTAINERS).length + Object.keys(TABLES).length);
    for (const r of kept) {
      const options = mocks.optionsOf(r.name);
      expect(options.protect, r.name).toBe(true);
      expect(options.retainOnDelete, r.name).toBe(true);
    }
    // Nothing else is protected: `pulumi destroy --exclude-protected` removes all the rest and
    // deletes no data (a container or table deleted would take its blobs or rows with it).
    const protectedNames = mocks.resources
      .filter((r) => mocks.optionsOf(r.name).protect)
      .map((r) => r.name);
    expect(protectedNames.sort()).toEqual(kept.map((r) => r.name).sort());
  });

  it("keeps deleted blobs and containers recoverable for 14 days", () => {
    const service = mocks.one(T.blobService);
    expect(service.inputs).toMatchObject({
      accountName: mocks.one(T.storage).state.name,
      blobServicesName: "default",
      deleteRetentionPolicy: { enabled: true, days: 14 },
      containerDeleteRetentionPolicy: { enabled: true, days: 14 },
    });
  });

  it("moves the raw archive to Cool after 30 days and never deletes it by default", () => {
    const lifecycle = mocks.one(T.lifecycle);
    expect(lifecycle.inputs.accountName).toBe(mocks.one(T.storage).state.name);
    expect(lifecycle.inputs.managementPolicyName).toBe("default");
    expect(lifecycle.inputs.policy.rules).toEqual([
      {
        name: "raw-archive",
        enabled: true,
        type: "Lifecycle",
        definition: {
          filters: { blobTypes: ["blockBlob"], prefixMatch: [`${CONTAINERS.rawArchive}/`] },
          actions: { baseBlob: { tierToCool: { daysAfterModificationGreaterThan: 30 } } },
        },
      },
    ]);
  });

  it("sets the app's and service principal's owners once, so another deployer changes none", () => {
    for (const type of [T.application, T.servicePrincipal]) {
      const resource = mocks.one(type);
      expect(resource.inputs.owners).toContain(MOCK.deployerObjectId);
      expect(mocks.optionsOf(resource.name).ignoreChanges).toEqual(["owners"]);
    }
  });

  it("sends the vault's audit events to the stack's Log Analytics workspace", () => {
    const [setting] = mocks.ofType(T.diagnosticSetting);
    expect(mocks.ofType(T.diagnosticSetting)).toHaveLength(1);
    expect(setting.inputs).toMatchObject({
      resourceUri: mocks.one(T.vault).id,
      workspaceId: mocks.one(T.workspace).id,
      logs: [{ category: "AuditEvent", enabled: true }],
    });
  });

  it("trusts the Azure subscription's tenant for the vault", () => {
    expect(mocks.one(T.vault).inputs.properties.tenantId).toBe(MOCK.subscriptionTenantId);
  });

  it("registers the Container App only after all its role assignments exist", () => {
    const appStart = mocks.events.indexOf(`start:${mocks.one(T.containerApp).name}`);
    const grantsDone = mocks
      .ofType(T.roleAssignment)
      .map((r) => mocks.events.indexOf(`done:${r.name}`));
    expect(grantsDone.length).toBeGreaterThan(0);
    for (const done of grantsDone) expect(done).toBeGreaterThanOrEqual(0);
    expect(appStart).toBeGreaterThan(Math.max(...grantsDone));
  });

  it("runs one replica without public ingress, probed on /healthz", () => {
    const app = mocks.one(T.containerApp);
    // The smallest size Container Apps offers; the bench's peaks fit it twice over.
    expect(app.inputs.template.containers[0].resources).toEqual({ cpu: 0.25, memory: "0.5Gi" });
    expect(app.inputs.identity.type).toBe("UserAssigned");
    expect(app.inputs.configuration.ingress).toBeUndefined();
    expect(app.inputs.template.scale).toMatchObject({ minReplicas: 1, maxReplicas: 1 });
    const env = envOf(app);
    const probes = app.inputs.template.containers[0].probes;
    expect(
      probes.map((p: { type: string; httpGet: { path: string; port: number } }) => [
        p.type,
        p.httpGet.path,
        p.httpGet.port,
      ]),
    ).toEqual([
      ["Startup", "/healthz", 8080],
      ["Liveness", "/healthz", 8080],
    ]);
    expect(env.PORT.value).toBe("8080");
  });

  it("fills the runtime's environment contract", async () => {
    const env = envOf(mocks.one(T.containerApp));
    const storage = mocks.one(T.storage);
    const identity = mocks.one(T.identity);
    expect(env.AUDIT_TENANT_ID.value).toBe(MOCK.tenantId);
    expect(env.AUDIT_PUBLISHER_ID.value).toBe(MOCK.tenantId);
    expect(env.AUDIT_CLIENT_ID.value).toBe(mocks.one(T.application).state.clientId);
    expect(env.AUDIT_CONTENT_TYPES.value).toBe(
      config["coe-audit-sync:contentTypes"] ?? "Audit.General",
    );
    expect(env.AUDIT_BLOB_ENDPOINT.value).toBe(storage.state.primaryEndpoints.blob);
    expect(env.AUDIT_TABLE_ENDPOINT.value).toBe(storage.state.primaryEndpoints.table);
    expect(env.AZURE_CLIENT_ID.value).toBe(identity.state.clientId);
    expect(env.AUDIT_SYNC_INTERVAL_MINUTES.value).toBe(
      config["coe-audit-sync:syncIntervalMinutes"] ?? "60",
    );
    expect(await promiseOf(program.runtimeIdentityClientId)).toBe(identity.state.clientId);
    expect(env.AUDIT_STORAGE_CONNECTION_STRING).toBeUndefined();
  });

  it("sets only variables the runtime reads, and the runtime accepts them for the federated sign-in", () => {
    const env = envOf(mocks.one(T.containerApp));
    const given = Object.fromEntries(Object.entries(env).map(([name, v]) => [name, v.value]));
    const read = new Set<string>();
    const recording = new Proxy(given, {
      get: (target, key) => (read.add(String(key)), target[String(key)]),
    });
    const config = loadConfig(recording);
    expect(Object.keys(env).filter((name) => !read.has(name))).toEqual([]);
    // The runtime asks for a token of the identity the app trusts, for the audience it trusts.
    expect(config.credential).toEqual({
      kind: "federated",
      identityClientId: mocks.one(T.identity).state.clientId,
      audience: mocks.one(T.federation).inputs.audiences[0],
    });
    expect(config.storage.kind).toBe("managed-identity");
  });

  it("sets only variables of the runtime's contract, secrets by reference", () => {
    const env = envOf(mocks.one(T.containerApp));
    expect(Object.keys(env).filter((name) => !(ENV_NAMES as string[]).includes(name))).toEqual([]);
    for (const name of ENV_NAMES) {
      const contract: EnvVarContract = ENV[name];
      if (contract.required === "always") expect(env[name], name).toBeDefined();
      if (contract.secret && env[name]) expect(env[name].secretRef, name).toBeDefined();
    }
  });

  it("keeps storage to Entra auth: shared keys and public blobs off, TLS 1.2", () => {
    const account = mocks.one(T.storage);
    expect(account.inputs).toMatchObject({
      allowSharedKeyAccess: false,
      allowBlobPublicAccess: false,
      minimumTlsVersion: "TLS1_2",
      enableHttpsTrafficOnly: true,
    });
    expect(account.inputs.accountName).toMatch(/^[a-z0-9]{3,24}$/);
    expect(
      mocks
        .ofType(T.container)
        .map((c) => c.inputs.containerName)
        .sort(),
    ).toEqual(Object.values(CONTAINERS).sort());
    expect(
      mocks
        .ofType(T.table)
        .map((t) => t.inputs.tableName)
        .sort(),
    ).toEqual(Object.values(TABLES).sort());
  });

  it("builds the image in the stack's registry with the Azure CLI from the sources, pinned by digest", () => {
    expect(mocks.ofType(T.image)).toHaveLength(0);
    const registry = mocks.one(T.registry);
    expect(registry.inputs.adminUserEnabled).toBe(false);
    const build = mocks.one(T.command);
    const hash = runtimeSourceHash(REPO_ROOT);
    expect(build.inputs.create).toBe(
      acrBuildCommand({
        registry: registry.state.name,
        resourceGroup: mocks.one(T.resourceGroup).state.name,
        tag: hash.slice(0, 16),
      }),
    );
    expect(build.inputs.create).toMatch(/^az acr build /);
    // Two az commands and nothing else: no docker CLI, no daemon.
    expect(
      build.inputs.create.split(" && ").map((c: string) => c.split(" ").slice(0, 3).join(" ")),
    ).toEqual(["az acr build", "az acr repository"]);
    expect(build.inputs.dir).toBe(REPO_ROOT);
    // Rebuilt only when the sources change.
    expect(build.inputs.triggers).toEqual([hash]);
    // No delete command: destroy runs nothing on this machine.
    expect(build.inputs.delete).toBeUndefined();
    const app = mocks.one(T.containerApp);
    expect(app.inputs.template.containers[0].image).toBe(
      `${registry.state.loginServer}/coe-audit-sync@${build.state.stdout.trim()}`,
    );
    expect(app.inputs.template.containers[0].image).toMatch(/@sha256:[0-9a-f]{64}$/);
    expect(app.inputs.configuration.registries).toEqual([
      {
        server: registry.state.loginServer,
        identity: app.inputs.identity.userAssignedIdentities[0],
      },
    ]);
    // No registry login from this machine: no token asked for, none exchanged.
    expect(exchanges).toEqual([]);
    expect(mocks.invokes.map((c) => c.token)).not.toContain(
      "azure-native:authorization:getClientToken",
    );
  });

  it("exports the ids a CoE admin needs, with the Dataverse Key Vault reference", async () => {
    const vault = mocks.one(T.vault);
    const out = await exportedValues(program);
    expect(out.tenantId).toBe(MOCK.tenantId);
    expect(out.clientId).toBe(mocks.one(T.application).state.clientId);
    expect(out.keyVaultUri).toBe(vault.state.properties.vaultUri);
    expect(out.clientSecretName).toBe("audit-client-secret");
    expect(out.containerAppName).toBe(mocks.one(T.containerApp).state.name);
    expect(out.blobEndpoint).toBe(mocks.one(T.storage).state.primaryEndpoints.blob);
    const coe = out.coeEnvironmentVariables as Record<string, string>;
    expect(coe["Audit Logs - ClientID"]).toBe(out.clientId);
    expect(coe["Audit Logs - Client Azure Secret"]).toBe(
      `/subscriptions/${MOCK.subscriptionId}/resourceGroups/${vault.inputs.resourceGroupName}/providers/Microsoft.KeyVault/vaults/${vault.state.name}/secrets/audit-client-secret`,
    );
    expect(coe["Audit Logs - Client Secret"]).toBe("");
    // Without the flag, Dataverse gets nothing.
    expect(
      mocks.invokes.some((c) => c.inputs.clientId === "00000007-0000-0000-c000-000000000000"),
    ).toBe(false);
  });
});

describe.each(Object.entries(STACK_FILES))("stack %s (%s) with imageBuild local", (stack, file) => {
  let mocks: ProgramMocks;
  let program: Program;
  let exchanges: ExchangeCall[];

  beforeAll(async () => {
    ({ mocks, program, exchanges } = await runProgram(`${stack}-local`, {
      ...readStackConfig(file),
      "coe-audit-sync:imageBuild": "local",
    }));
  });

  it("builds the image from the repository root with sync-runtime/Dockerfile, registry admin off", () => {
    const image = mocks.one(T.image);
    expect(mocks.ofType(T.command)).toHaveLength(0);
    // Never on preview, and destroy leaves the local tags (and the Docker daemon) alone.
    expect(image.inputs.buildOnPreview).toBe(false);
    expect(mocks.optionsOf(image.name).retainOnDelete).toBe(true);
    expect(image.inputs.context).toEqual({ location: "." });
    expect(image.inputs.dockerfile).toEqual({ location: "sync-runtime/Dockerfile" });
    expect(image.inputs.push).toBe(true);
    const registry = mocks.one(T.registry);
    expect(registry.inputs.adminUserEnabled).toBe(false);
    expect(image.inputs.tags[0]).toBe(`${registry.state.loginServer}/coe-audit-sync:latest`);
    const app = mocks.one(T.containerApp);
    expect(app.inputs.template.containers[0].image).toBe(image.state.ref);
    expect(app.inputs.configuration.registries).toEqual([
      {
        server: registry.state.loginServer,
        identity: app.inputs.identity.userAssignedIdentities[0],
      },
    ]);
  });

  it("logs the push in to the new registry as the deployer, without an admin user", async () => {
    const registry = mocks.one(T.registry);
    const tokenCalls = mocks.invokes.filter(
      (c) => c.token === "azure-native:authorization:getClientToken",
    );
    expect(tokenCalls).toHaveLength(1);
    // The registry's own audience (works where ARM-audience registry tokens are disabled),
    // through the provider configured for this cloud.
    expect(tokenCalls[0].inputs.endpoint).toBe("https://containerregistry.azure.net");
    expect(tokenCalls[0].provider).toContain("pulumi:providers:azure-native::azure");
    // The deployer's token went to the registry's exchange endpoint, once, as `az acr login` sends it.
    expect(exchanges).toEqual([
      {
        method: "POST",
        path: "/oauth2/exchange",
        contentType: "application/x-www-form-urlencoded",
        form: {
          grant_type: "access_token",
          service: registry.state.loginServer,
          tenant: MOCK.subscriptionTenantId,
          access_token: MOCK.armAccessToken,
        },
      },
    ]);
    const image = mocks.one(T.image);
    const registries = revealed(image.inputs.registries);
    expect(registries).toHaveLength(1);
    const [login] = registries;
    expect(login.address).toBe(registry.state.loginServer);
    expect(login.username).toBe("00000000-0000-0000-0000-000000000000");
    expect(isSerialisedSecret(login.password) || isSerialisedSecret(image.inputs.registries)).toBe(
      true,
    );
    expect(revealed(login.password)).toBe(refreshTokenFor(exchanges[0].form));
    expect(registry.inputs.adminUserEnabled).toBe(false);
  });

  it("keeps the deployer's tokens out of every other input, lookup and output", async () => {
    const refreshToken = refreshTokenFor(exchanges[0].form);
    const image = mocks.one(T.image);
    expect(JSON.stringify(image.inputs)).not.toContain(MOCK.armAccessToken);
    for (const r of mocks.resources.filter((r) => r !== image)) {
      const inputs = JSON.stringify(r.inputs);
      expect(inputs, `${r.type} ${r.name}`).not.toContain(MOCK.armAccessToken);
      expect(inputs, `${r.type} ${r.name}`).not.toContain(refreshToken);
    }
    expect(JSON.stringify(mocks.invokes)).not.toContain(MOCK.armAccessToken);
    const exported = JSON.stringify(await exportedValues(program));
    expect(exported).not.toContain(MOCK.armAccessToken);
    expect(exported).not.toContain(refreshToken);
  });
});

describe("stack options", () => {
  const dev = readStackConfig(STACK_FILES.dev);

  it("runs a prebuilt syncImage without building or a registry", async () => {
    const { mocks, exchanges } = await runProgram("prebuilt", {
      ...dev,
      "coe-audit-sync:syncImage": "example.azurecr.io/coe-audit-sync:1.0.0",
    });
    expect(mocks.ofType(T.image)).toHaveLength(0);
    expect(mocks.ofType(T.command)).toHaveLength(0);
    expect(mocks.ofType(T.registry)).toHaveLength(0);
    expect(exchanges).toHaveLength(0);
    expect(mocks.invokes.map((c) => c.token)).not.toContain(
      "azure-native:authorization:getClientToken",
    );
    const app = mocks.one(T.containerApp);
    expect(app.inputs.template.containers[0].image).toBe("example.azurecr.io/coe-audit-sync:1.0.0");
    expect(app.inputs.configuration.registries).toBeUndefined();
    expect(mocks.ofType(T.roleAssignment).map((r) => r.inputs.roleDefinitionId)).not.toContainEqual(
      expect.stringContaining(ROLES.acrPull),
    );
  });

  it("pulls a prebuilt image from a private registry with the identity (AcrPull)", async () => {
    const registryId = `/subscriptions/${MOCK.subscriptionId}/resourceGroups/images/providers/Microsoft.ContainerRegistry/registries/contosoimages`;
    const image = `contosoimages.azurecr.us/coe-audit-sync@sha256:${"a".repeat(64)}`;
    const { mocks } = await runProgram("private-image", {
      ...readStackConfig(STACK_FILES.gcchigh),
      "coe-audit-sync:syncImage": image,
      "coe-audit-sync:syncImageRegistry": registryId,
    });
    expect(mocks.ofType(T.registry)).toHaveLength(0);
    expect(mocks.ofType(T.command)).toHaveLength(0);
    const app = mocks.one(T.containerApp);
    const identityId = app.inputs.identity.userAssignedIdentities[0];
    expect(app.inputs.template.containers[0].image).toBe(image);
    expect(app.inputs.configuration.registries).toEqual([
      { server: "contosoimages.azurecr.us", identity: identityId },
    ]);
    const pull = mocks
      .ofType(T.roleAssignment)
      .filter((r) => r.inputs.roleDefinitionId.endsWith(ROLES.acrPull));
    expect(pull.map((r) => [r.inputs.scope, r.inputs.principalId])).toEqual([
      [registryId, mocks.one(T.identity).state.principalId],
    ]);
  });

  it("plans the ACR build during preview without running anything itself", async () => {
    const { mocks, exchanges } = await runProgram("acr-preview", dev, { preview: true });
    // The build is a Command the engine runs on update only; the program reads files and
    // hashes them, and never calls the registry or Docker.
    expect(mocks.ofType(T.image)).toHaveLength(0);
    expect(mocks.one(T.command).inputs.triggers).toEqual([runtimeSourceHash(REPO_ROOT)]);
    expect(exchanges).toHaveLength(0);
  });

  it("skips the registry login during preview, leaving docker-build nothing to log in with", async () => {
    const { mocks, exchanges } = await runProgram(
      "preview",
      { ...dev, "coe-audit-sync:imageBuild": "local" },
      { preview: true },
    );
    expect(exchanges).toHaveLength(0);
    const registries = revealed(mocks.one(T.image).inputs.registries);
    expect(registries).toHaveLength(1);
    // docker-build ignores a registry with an empty password in previews and never diffs passwords.
    expect(revealed(registries[0].password)).toBe("");
    expect(registries[0].username).toBe("00000000-0000-0000-0000-000000000000");
  });

  it("grants Dataverse Key Vault Secrets User on the client secret when asked", async () => {
    const { mocks } = await runProgram("dataverse", {
      ...dev,
      "coe-audit-sync:grantDataverseKeyVaultAccess": "true",
    });
    const grant = mocks
      .ofType(T.roleAssignment)
      .filter((r) => r.inputs.principalId === MOCK.dataverseObjectId);
    expect(grant).toHaveLength(1);
    expect(grant[0].inputs.scope).toBe(mocks.one(T.vaultSecret).id);
    expect(grant[0].inputs.roleDefinitionId).toContain(ROLES.keyVaultSecretsUser);
  });

  it("passes dataverseUrl to the runtime as AUDIT_DATAVERSE_URL, which the runtime accepts for the cloud", async () => {
    const { mocks } = await runProgram("coe-dataverse", {
      ...dev,
      "coe-audit-sync:cloud": "gcchigh",
      "azure-native:location": "usgovvirginia",
      "coe-audit-sync:dataverseUrl": "https://contoso.crm.microsoftdynamics.us/",
    });
    const env = envOf(mocks.one(T.containerApp));
    expect(env.AUDIT_DATAVERSE_URL).toEqual({ value: "https://contoso.crm.microsoftdynamics.us" });
    const given = Object.fromEntries(
      Object.entries(env).map(([name, v]) => [name, v.secretRef ? "Secret~value" : v.value]),
    );
    expect(loadConfig(given).dataverseUrl).toBe("https://contoso.crm.microsoftdynamics.us");
    // Without it, the sink stays off.
    const off = await runProgram("coe-no-dataverse", dev);
    expect(envOf(off.mocks.one(T.containerApp)).AUDIT_DATAVERSE_URL).toBeUndefined();
  });

  it("warns about provider keys in the stack config that the explicit providers ignore", async () => {
    const warn = vi.spyOn(pulumi.log, "warn").mockImplementation(async () => {});
    try {
      await runProgram("ignored-keys", { ...dev, "azuread:tenantId": MOCK.tenantId });
      const messages = warn.mock.calls.map(([message]) => String(message));
      expect(messages.filter((m) => m.includes('"azuread:tenantId" has no effect'))).toHaveLength(
        1,
      );
      // The location the stack file sets is passed on: no warning names it.
      expect(messages.filter((m) => m.includes('"azure-native:location"'))).toEqual([]);
      expect(messages.filter((m) => m.startsWith("Stack config"))).toHaveLength(1);
    } finally {
      warn.mockRestore();
    }
  });

  it("takes the archive's protection, soft delete and lifecycle from the stack config", async () => {
    const { mocks } = await runProgram("archive", {
      ...dev,
      "coe-audit-sync:protectArchive": "false",
      "coe-audit-sync:softDeleteDays": "30",
      "coe-audit-sync:archiveCoolDays": "7",
      "coe-audit-sync:archiveRetentionDays": "400",
    });
    for (const r of [T.storage, T.resourceGroup, T.container, T.table, T.lifecycle].flatMap((t) =>
      mocks.ofType(t),
    )) {
      expect(mocks.optionsOf(r.name)).toMatchObject({ protect: false, retainOnDelete: false });
    }
    expect(mocks.one(T.blobService).inputs).toMatchObject({
      deleteRetentionPolicy: { enabled: true, days: 30 },
      containerDeleteRetentionPolicy: { enabled: true, days: 30 },
    });
    expect(mocks.one(T.lifecycle).inputs.policy.rules[0].definition.actions).toEqual({
      baseBlob: {
        tierToCool: { daysAfterModificationGreaterThan: 7 },
        delete: { daysAfterModificationGreaterThan: 400 },
      },
    });
  });

  it("lets the stack lower the first pass's reach", async () => {
    const { mocks } = await runProgram("first-run", {
      ...dev,
      "coe-audit-sync:source": "both",
      "coe-audit-sync:firstRunHours": "24",
      "coe-audit-sync:graphBackfillDays": "7",
    });
    const env = envOf(mocks.one(T.containerApp));
    expect(env.AUDIT_FIRST_RUN_HOURS).toEqual({ value: "24" });
    expect(env.AUDIT_GRAPH_BACKFILL_DAYS).toEqual({ value: "7" });
  });

  it("adds configured owners to the deployer as owners of the app", async () => {
    const owner = "abcdefab-1234-4abc-8def-0123456789ab";
    const { mocks } = await runProgram("owners", { ...dev, "coe-audit-sync:appOwners": owner });
    expect(mocks.one(T.application).inputs.owners).toEqual([MOCK.deployerObjectId, owner]);
  });

  it("fails before creating anything when the config is wrong, naming key, value and fix", async () => {
    const mocks = new ProgramMocks();
    await pulumi.runtime.setMocks(mocks, PROJECT, "broken");
    pulumi.runtime.setAllConfig({ ...dev, "coe-audit-sync:cloud": "gcc-high" });
    vi.resetModules();
    await expect(import("../../index")).rejects.toThrow(
      /"cloud": "gcc-high".*commercial \| gcc \| gcchigh \| dod.*pulumi config set cloud/,
    );
    expect(mocks.resources).toHaveLength(0);
  });
});

describe.each(Object.entries(STACK_FILES))("stack %s (%s) with alertEmails", (stack, file) => {
  const config = readStackConfig(file);
  const emails = ["admin@contoso.com", "coe-team@contoso.com"];
  let mocks: ProgramMocks;
  let program: Program;
  beforeAll(async () => {
    ({ mocks, program } = await runProgram(`${stack}-alerts`, {
      ...config,
      "coe-audit-sync:alertEmails": emails.join(","),
    }));
  });

  const queries = () => mocks.ofType(T.alertRule).map((r) => r.inputs.criteria.allOf[0].query);

  it("mails every address through one action group", () => {
    const group = mocks.one(T.actionGroup);
    expect(group.inputs.location).toBe("Global");
    expect(group.inputs.groupShortName.length).toBeLessThanOrEqual(12);
    expect(
      group.inputs.emailReceivers.map((r: { emailAddress: string }) => r.emailAddress),
    ).toEqual(emails);
  });

  it("runs every rule on the stack's workspace, over this Container App, mailing the group", () => {
    const rules = mocks.ofType(T.alertRule);
    const appName = mocks.one(T.containerApp).state.name;
    expect(rules.map((r) => r.name.replace(/^alerts-/, "")).sort()).toEqual(
      [
        "no-pass",
        "passes-failing",
        "gap",
        "quarantine",
        "listing-cut",
        "dataverse-rejected",
        "platform",
        "secret-expiry",
      ].sort(),
    );
    for (const rule of rules) {
      expect(rule.inputs.scopes, rule.name).toEqual([mocks.one(T.workspace).id]);
      expect(rule.inputs.location, rule.name).toBe(config["azure-native:location"]);
      expect(rule.inputs.actions.actionGroups, rule.name).toEqual([mocks.one(T.actionGroup).id]);
      expect(rule.inputs.kind).toBe("LogAlert");
      expect(rule.provider).toContain("pulumi:providers:azure-native::azure");
      if (rule.name !== "alerts-secret-expiry") {
        expect(rule.inputs.criteria.allOf[0].query, rule.name).toContain(`== '${appName}'`);
      }
    }
  });

  it("matches every event of the runtime's contract in some rule", () => {
    for (const event of Object.values(LOG_EVENTS)) {
      expect(
        queries().some((q: string) => q.includes(`Log_s has '"event":"${event}"'`)),
        event,
      ).toBe(true);
    }
  });

  it("alerts when no pass completed for 3 intervals, from the stack's interval", () => {
    const rule = mocks.ofType(T.alertRule).find((r) => r.name === "alerts-no-pass")!;
    const interval = Number(config["coe-audit-sync:syncIntervalMinutes"] ?? 60);
    const window = Math.min(3 * interval, 2880);
    expect(rule.inputs.windowSize).toBe(isoMinutes(window));
    expect(rule.inputs.criteria.allOf[0]).toMatchObject({
      operator: "GreaterThan",
      threshold: 0,
      timeAggregation: "Count",
    });
    // Armed once the window has passed since the rules were created (a stored timestamp).
    const created = mocks.ofType(T.staticTime).find((r) => r.name === "alerts-created")!;
    expect(rule.inputs.criteria.allOf[0].query).toContain(
      `now() > datetime(${created.state.rfc3339}) + ${window}m`,
    );
  });

  it("warns 14 days before the client secret's end date, and the rotation rewrites that rule", async () => {
    const rule = mocks.ofType(T.alertRule).find((r) => r.name === "alerts-secret-expiry")!;
    const end = mocks.one(T.password).inputs.endDate;
    expect(rule.inputs.criteria.allOf[0].query).toBe(
      `print expiresAt = datetime(${end})\n| where expiresAt < now() + 14d`,
    );
    const urn = await promiseOf(pulumi.output(program.clientSecretRotationUrn));
    expect(dependentsOf(mocks, urn!).has(rule.name)).toBe(true);
  });
});

describe("without alertEmails", () => {
  it("creates no action group or rule, and warns that nothing will tell anyone", async () => {
    const warn = vi.spyOn(pulumi.log, "warn").mockImplementation(async () => {});
    try {
      const { mocks } = await runProgram("no-alerts", readStackConfig(STACK_FILES.dev));
      expect(mocks.ofType(T.actionGroup)).toHaveLength(0);
      expect(mocks.ofType(T.alertRule)).toHaveLength(0);
      const messages = warn.mock.calls.map(([m]) => String(m));
      expect(messages.filter((m) => m.startsWith("No alertEmails"))).toHaveLength(1);
    } finally {
      warn.mockRestore();
    }
  });

  it("has no secret-expiry rule when the stack keeps no secret", async () => {
    const { mocks } = await runProgram("alerts-no-secret", {
      ...readStackConfig(STACK_FILES.dev),
      "coe-audit-sync:alertEmails": "admin@contoso.com",
      "coe-audit-sync:clientSecret": "false",
    });
    const names = mocks.ofType(T.alertRule).map((r) => r.name);
    expect(names).toHaveLength(7);
    expect(names).not.toContain("alerts-secret-expiry");
  });
});

describe("secretLifetimeDays changed on an aged stack", () => {
  const dev = readStackConfig(STACK_FILES.dev);
  const DAY = 86_400_000;
  const now = "2027-06-01T00:00:00Z";
  // The stack was deployed 170 days ago with the default 180-day lifetime.
  const createdAt = new Date(Date.parse(now) - 170 * DAY).toISOString().replace(/\.000Z$/, "Z");

  /** The rotation as the first `pulumi up` left it. */
  async function agedRotation(): Promise<{
    inputs: Record<string, any>;
    state: Record<string, any>;
  }> {
    const first = await runProgram("aged", dev, { now: createdAt });
    const rotation = first.mocks.one(T.rotation);
    return { inputs: rotation.inputs, state: rotation.state };
  }

  it("replaces the rotation from now, so the new secret ends in the future", async () => {
    const prior = await agedRotation();
    const { mocks } = await runProgram(
      "aged",
      { ...dev, "coe-audit-sync:secretLifetimeDays": "90" },
      { now, priorState: { "audit-app-secret-rotation": prior } },
    );
    const end = Date.parse(mocks.one(T.password).inputs.endDate);
    expect(end).toBeGreaterThan(Date.parse(now));
    expect(end).toBe(Date.parse(now) + 90 * DAY);
    const rotation = mocks.one(T.rotation);
    expect(rotation.state.rfc3339).toBe(now);
    expect(rotation.inputs.triggers).toEqual({ lifetimeDays: "90" });
  });

  it("keeps the rotation (and so the secret) when nothing changed", async () => {
    const prior = await agedRotation();
    const { mocks } = await runProgram("aged", dev, {
      now,
      priorState: { "audit-app-secret-rotation": prior },
    });
    expect(mocks.one(T.rotation).state.rfc3339).toBe(createdAt);
    expect(mocks.one(T.password).inputs.endDate).toBe(secretEndDate(createdAt, 180));
  });
});

describe("stack config runtimeCredential secret", () => {
  const dev = readStackConfig(STACK_FILES.dev);
  let mocks: ProgramMocks;
  let program: Program;
  beforeAll(async () => {
    ({ mocks, program } = await runProgram("secret", {
      ...dev,
      "coe-audit-sync:runtimeCredential": "secret",
    }));
  });

  it("gives the app the secret from Key Vault by reference and no federated credential", () => {
    const app = mocks.one(T.containerApp);
    const identityId: string = app.inputs.identity.userAssignedIdentities[0];
    expect(app.inputs.configuration.secrets).toEqual([
      {
        name: "audit-client-secret",
        keyVaultUrl: mocks.one(T.vaultSecret).state.properties.secretUriWithVersion,
        identity: identityId,
      },
    ]);
    const env = envOf(app);
    expect(env.AUDIT_CREDENTIAL).toEqual({ value: "secret" });
    expect(env.AUDIT_CLIENT_SECRET).toEqual({ secretRef: "audit-client-secret" });
    expect(env.AUDIT_FEDERATED_AUDIENCE).toBeUndefined();
    expect(mocks.ofType(T.federation)).toHaveLength(0);
    // The identity reads that one secret.
    const vaultGrant = mocks
      .ofType(T.roleAssignment)
      .filter((r) => r.inputs.roleDefinitionId.endsWith(ROLES.keyVaultSecretsUser));
    expect(vaultGrant.map((r) => [r.inputs.scope, r.inputs.principalId])).toEqual([
      [mocks.one(T.vaultSecret).id, mocks.one(T.identity).state.principalId],
    ]);
  });

  it("sets only variables the runtime reads, and the runtime accepts them", () => {
    const env = envOf(mocks.one(T.containerApp));
    // What the runtime's config loader looks at, recorded on a copy of the Container App's env
    // (a secret reference stands for a value the runtime would receive from Key Vault).
    const given = Object.fromEntries(
      Object.entries(env).map(([name, v]) => [
        name,
        v.secretRef ? "Secret~value.from.vault" : v.value,
      ]),
    );
    const read = new Set<string>();
    const recording = new Proxy(given, {
      get: (target, key) => (read.add(String(key)), target[String(key)]),
    });
    const config = loadConfig(recording);
    expect(Object.keys(env).filter((name) => !read.has(name))).toEqual([]);
    expect(config.credential.kind).toBe("secret");
    expect(config.storage.kind).toBe("managed-identity");
  });

  it("ties a revision-scoped variable to the secret version so rotation starts a new revision", async () => {
    const env = envOf(mocks.one(T.containerApp));
    const uri: string = mocks.one(T.vaultSecret).state.properties.secretUriWithVersion;
    expect(env.AUDIT_CLIENT_SECRET_VERSION.value).toBe(uri.split("/").pop());
    // So the rotation reaches the Container App, and still never the image.
    const urn = await promiseOf(pulumi.output(program.clientSecretRotationUrn));
    const reached = dependentsOf(mocks, urn!);
    expect(reached.has(mocks.one(T.containerApp).name)).toBe(true);
    expect(reached.has(mocks.one(T.command).name)).toBe(false);
  });
});

describe("stack config clientSecret false", () => {
  it("creates no password, rotation, vault or vault grant, and the app still signs in federated", async () => {
    const dev = readStackConfig(STACK_FILES.dev);
    const { mocks, program } = await runProgram("no-secret", {
      ...dev,
      "coe-audit-sync:clientSecret": "false",
    });
    for (const type of [T.password, T.rotation, T.vault, T.vaultSecret, T.diagnosticSetting]) {
      expect(mocks.ofType(type), type).toHaveLength(0);
    }
    expect(mocks.one(T.federation).inputs.subject).toBe(mocks.one(T.identity).state.principalId);
    expect(envOf(mocks.one(T.containerApp)).AUDIT_CREDENTIAL).toEqual({ value: "federated" });
    const out = await exportedValues(program);
    expect(out.keyVaultName).toBeUndefined();
    expect(out.clientSecretExpiresAt).toBeUndefined();
    expect(out.clientSecretRotationUrn).toBeUndefined();
    expect(
      (out.coeEnvironmentVariables as Record<string, string>)["Audit Logs - Client Azure Secret"],
    ).toBe("");
  });
});

describe("stack config source", () => {
  const dev = readStackConfig(STACK_FILES.dev);
  const MANAGEMENT = "c5393580-f805-4401-95e8-94b7a6ef2fc2";
  const GRAPH = "00000003-0000-0000-c000-000000000000";

  it("with graph declares and consents only AuditLogsQuery.Read.All, looked up by value", async () => {
    const { mocks, program } = await runProgram("graph", {
      ...dev,
      "coe-audit-sync:source": "graph",
    });
    expect(mocks.one(T.application).inputs.requiredResourceAccesses).toEqual([
      {
        resourceAppId: GRAPH,
        resourceAccesses: [{ id: MOCK.auditLogsQueryReadRoleId, type: "Role" }],
      },
    ]);
    const sp = mocks.one(T.servicePrincipal);
    expect(mocks.one(T.consent).inputs).toEqual({
      appRoleId: MOCK.auditLogsQueryReadRoleId,
      principalObjectId: sp.state.objectId,
      resourceObjectId: MOCK.graphObjectId,
    });
    // No ActivityFeed.Read without the Management API: not even its lookup.
    expect(mocks.invokes.some((c) => c.inputs.clientId === MANAGEMENT)).toBe(false);
    const env = envOf(mocks.one(T.containerApp));
    expect(env.AUDIT_SOURCE.value).toBe("graph");
    expect(env.AUDIT_GRAPH_ENDPOINT.value).toBe("https://graph.microsoft.com");
    expect(env.AUDIT_GRAPH_BACKFILL_DAYS).toEqual({ value: "30" });
    // The runtime accepts what the program sets.
    const plain = Object.fromEntries(
      Object.entries(env).map(([k, v]) => [k, v.value ?? "s3cret-from-key-vault"]),
    );
    expect(loadConfig(plain).source).toBe("graph");
    expect(await promiseOf(pulumi.output(program.auditSource))).toBe("graph");
    expect(
      (await promiseOf(pulumi.output(program.coeEnvironmentVariables)))[
        "Audit Logs - Use Graph API"
      ],
    ).toBe("Yes");
  });

  it("with both keeps ActivityFeed.Read beside Graph's role and syncs from the Management API", async () => {
    const { mocks } = await runProgram("both", { ...dev, "coe-audit-sync:source": "both" });
    const declared = mocks.one(T.application).inputs.requiredResourceAccesses as {
      resourceAppId: string;
      resourceAccesses: { id: string }[];
    }[];
    expect(declared.map((d) => [d.resourceAppId, d.resourceAccesses.map((a) => a.id)])).toEqual([
      [MANAGEMENT, [MOCK.activityFeedReadRoleId]],
      [GRAPH, [MOCK.auditLogsQueryReadRoleId]],
    ]);
    expect(
      mocks.ofType(T.consent).map((c) => [c.name, c.inputs.appRoleId, c.inputs.resourceObjectId]),
    ).toEqual([
      ["audit-app-consent", MOCK.activityFeedReadRoleId, MOCK.managementApisObjectId],
      ["audit-app-graph-consent", MOCK.auditLogsQueryReadRoleId, MOCK.graphObjectId],
    ]);
    const env = envOf(mocks.one(T.containerApp));
    expect(env.AUDIT_SOURCE.value).toBe("managementApi");
    expect(env.AUDIT_GRAPH_ENDPOINT.value).toBe("https://graph.microsoft.com");
  });

  it("with dataverseUserDetails grants User.Read.All and turns the runtime's user details on", async () => {
    const withSink = { ...dev, "coe-audit-sync:dataverseUrl": "https://contoso.crm.dynamics.com" };
    const { mocks } = await runProgram("user-details", {
      ...withSink,
      "coe-audit-sync:dataverseUserDetails": "true",
    });
    const declared = mocks.one(T.application).inputs.requiredResourceAccesses as {
      resourceAppId: string;
      resourceAccesses: { id: string }[];
    }[];
    expect(declared.map((d) => [d.resourceAppId, d.resourceAccesses.map((a) => a.id)])).toEqual([
      [MANAGEMENT, [MOCK.activityFeedReadRoleId]],
      [GRAPH, [MOCK.userReadAllRoleId]],
    ]);
    const sp = mocks.one(T.servicePrincipal);
    expect(
      mocks.ofType(T.consent).map((c) => [c.name, c.inputs.appRoleId, c.inputs.resourceObjectId]),
    ).toEqual([
      ["audit-app-consent", MOCK.activityFeedReadRoleId, MOCK.managementApisObjectId],
      ["audit-app-users-consent", MOCK.userReadAllRoleId, MOCK.graphObjectId],
    ]);
    expect(
      mocks.ofType(T.consent).every((c) => c.inputs.principalObjectId === sp.state.objectId),
    ).toBe(true);
    const env = envOf(mocks.one(T.containerApp));
    expect(env.AUDIT_DATAVERSE_USER_DETAILS).toEqual({ value: "true" });
    // Users are read from the cloud's Graph; the audit query's Graph is not needed for them.
    expect(env.AUDIT_GRAPH_USERS_ENDPOINT).toEqual({ value: "https://graph.microsoft.com" });
    expect(env.AUDIT_GRAPH_ENDPOINT).toBeUndefined();
    const plain = Object.fromEntries(
      Object.entries(env).map(([k, v]) => [k, v.value ?? "s3cret-from-key-vault"]),
    );
    expect(loadConfig(plain).dataverseUserDetails).toBe(true);

    // Off (the default): no User.Read.All, the runtime's details off.
    const off = await runProgram("no-user-details", withSink);
    expect(off.mocks.ofType(T.consent).map((c) => c.inputs.appRoleId)).toEqual([
      MOCK.activityFeedReadRoleId,
    ]);
    expect(envOf(off.mocks.one(T.containerApp)).AUDIT_DATAVERSE_USER_DETAILS).toBeUndefined();
    expect(envOf(off.mocks.one(T.containerApp)).AUDIT_GRAPH_USERS_ENDPOINT).toBeUndefined();
    // Without the sink there is nothing to fill: refused, naming the key.
    await expect(
      runProgram("user-details-no-sink", { ...dev, "coe-audit-sync:dataverseUserDetails": "true" }),
    ).rejects.toThrow(/dataverseUserDetails/);
  });

  it("with dataverseUserDetails reads users from each cloud's own Graph, GCC High and DoD included", async () => {
    const clouds = [
      ["dev", "https://contoso.crm.dynamics.com", "https://graph.microsoft.com"],
      ["gcc", "https://contoso.crm9.dynamics.com", "https://graph.microsoft.com"],
      ["gcchigh", "https://contoso.crm.microsoftdynamics.us", "https://graph.microsoft.us"],
      ["dod", "https://contoso.crm.appsplatform.us", "https://dod-graph.microsoft.us"],
    ] as const;
    for (const [stack, dataverseUrl, graph] of clouds) {
      const { mocks } = await runProgram(`user-details-${stack}`, {
        ...readStackConfig(STACK_FILES[stack]),
        "coe-audit-sync:dataverseUrl": dataverseUrl,
        "coe-audit-sync:dataverseUserDetails": "true",
      });
      // User.Read.All on the Graph service principal (the same app id in every cloud), its role
      // id looked up by value in the tenant.
      expect(
        mocks.invokes.some((c) => c.inputs.clientId === GRAPH),
        stack,
      ).toBe(true);
      expect(
        mocks.ofType(T.consent).map((c) => [c.name, c.inputs.appRoleId, c.inputs.resourceObjectId]),
        stack,
      ).toContainEqual(["audit-app-users-consent", MOCK.userReadAllRoleId, MOCK.graphObjectId]);
      const env = envOf(mocks.one(T.containerApp));
      expect(env.AUDIT_GRAPH_USERS_ENDPOINT, stack).toEqual({ value: graph });
      expect(env.AUDIT_GRAPH_ENDPOINT, stack).toBeUndefined();
      // The runtime takes what the program sets, in its cloud.
      const plain = Object.fromEntries(
        Object.entries(env).map(([k, v]) => [k, v.value ?? "s3cret-from-key-vault"]),
      );
      const config = loadConfig(plain);
      expect([config.dataverseUserDetails, config.graphUsersEndpoint], stack).toEqual([
        true,
        graph,
      ]);
    }
  });

  it("with the default sets no Graph permission and no Graph endpoint", async () => {
    const { mocks } = await runProgram("default-source", dev);
    expect(mocks.invokes.some((c) => c.inputs.clientId === GRAPH)).toBe(false);
    const env = envOf(mocks.one(T.containerApp));
    expect(env.AUDIT_SOURCE.value).toBe("managementApi");
    expect(env.AUDIT_GRAPH_ENDPOINT).toBeUndefined();
    expect(env.AUDIT_GRAPH_BACKFILL_DAYS).toBeUndefined();
    // The first pass reads the 7 days the Management API holds.
    expect(env.AUDIT_FIRST_RUN_HOURS).toEqual({ value: "168" });
  });

  it("refuses graph and both for GCC High and DoD before creating anything", async () => {
    for (const stack of ["gcchigh", "dod"] as const) {
      for (const source of ["graph", "both"]) {
        const mocks = new ProgramMocks();
        await pulumi.runtime.setMocks(mocks, PROJECT, `${stack}-${source}`);
        pulumi.runtime.setAllConfig({
          ...readStackConfig(STACK_FILES[stack]),
          "coe-audit-sync:source": source,
        });
        vi.resetModules();
        await expect(import("../../index")).rejects.toThrow(
          /"source".*Resource not found for the segment 'auditLog'.*pulumi config set source managementApi/,
        );
        expect(mocks.resources).toHaveLength(0);
      }
    }
  });
});

describe("AuditAppRegistration outputs", () => {
  it("marks the client secret as secret", async () => {
    const mocks = new ProgramMocks();
    await pulumi.runtime.setMocks(mocks, PROJECT, "component");
    vi.resetModules();
    const { AuditAppRegistration } = await import("../../components/audit-app-registration");
    const registration = new AuditAppRegistration("reg", {
      displayName: "reg",
      secretLifetimeDays: 30,
    });
    expect(await pulumi.isSecret(registration.secret!.value)).toBe(true);
    expect(await promiseOf(registration.secret!.value)).toBe(MOCK.passwordValue);
    expect(await pulumi.isSecret(registration.clientId)).toBe(false);
  });
});
