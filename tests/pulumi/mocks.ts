import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";

/** Marker the Pulumi runtime puts around secret values it serialises. */
const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

export const MOCK = {
  subscriptionId: "11111111-1111-1111-1111-111111111111",
  tenantId: "22222222-2222-2222-2222-222222222222",
  // The subscription's tenant as azure-native sees it; distinct so a test can tell the two apart.
  subscriptionTenantId: "12121212-1212-1212-1212-121212121212",
  deployerObjectId: "33333333-3333-3333-3333-333333333333",
  managementApisObjectId: "44444444-4444-4444-4444-444444444444",
  dataverseObjectId: "55555555-5555-5555-5555-555555555555",
  // Deliberately not the commercial literal 594c1fb6-…: proves the program looks the id up.
  activityFeedReadRoleId: "66666666-6666-6666-6666-666666666666",
  activityFeedReadDlpRoleId: "77777777-7777-7777-7777-777777777777",
  graphObjectId: "45454545-4545-4545-4545-454545454545",
  // Not Graph's published id for AuditLogsQuery.Read.All: proves the program looks it up by value.
  auditLogsQueryReadRoleId: "67676767-6767-6767-6767-676767676767",
  userReadAllRoleId: "68686868-6868-6868-6868-686868686868",
  passwordValue: "Mock~PasswordValue.0123456789abcdefXYZ",
  passwordKeyId: "88888888-8888-8888-8888-888888888888",
  rotationBase: "2026-11-25T14:00:00Z",
  workspaceSharedKey: "mock-workspace-shared-key==",
  // What azure-native's getClientToken returns: the deployer's Resource Manager access token.
  armAccessToken: "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.mock-arm-access-token.signature",
} as const;

export interface ProgramMocksOptions {
  /** Milliseconds to hold the answer for resources of a type token. */
  readonly delays?: Readonly<Record<string, number>>;
  /**
   * Login server of every registry. Default `<name>.azurecr.io`; a test that lets the program
   * log in to the registry points this at a local fake, so no request leaves the machine.
   */
  readonly registryLoginServer?: string;
  /** The engine's clock for resources that read it (a rotation created now). Default: rotationBase. */
  readonly now?: string;
  /**
   * State an earlier `pulumi up` left, by logical name: where a provider updates in place from
   * what it stored (time.Rotating), the mocks answer as it would.
   */
  readonly priorState?: Readonly<
    Record<string, { inputs: Record<string, any>; state: Record<string, any> }>
  >;
}

export interface RecordedResource {
  readonly type: string;
  readonly name: string;
  /** The id the mocks gave the resource (what another resource's input refers to it by). */
  readonly id: string;
  readonly inputs: Record<string, any>;
  readonly provider?: string;
  readonly custom: boolean;
  /** Inputs merged with the filled output properties, as the program sees them. */
  state: Record<string, any>;
}

/** The resource options a registration sends to the engine (newResource never sees them). */
export interface RecordedOptions {
  readonly ignoreChanges: string[];
  readonly retainOnDelete: boolean;
  /** The engine refuses to delete or replace a protected resource. */
  readonly protect: boolean;
  readonly deleteBeforeReplace: boolean;
  /** URNs of explicit dependencies (dependsOn), as the engine receives them. */
  readonly dependencies: string[];
}

export interface RecordedInvoke {
  readonly token: string;
  readonly inputs: Record<string, any>;
  readonly provider?: string;
}

/** The parts of the engine's RegisterResourceRequest the recorder reads. */
interface RegisterRequest {
  getName(): string;
  getIgnorechangesList(): string[];
  getRetainondelete(): boolean | undefined;
  getProtect(): boolean | undefined;
  getDeletebeforereplace(): boolean;
  getDependenciesList(): string[];
}

/** True when `value` is the runtime's serialised form of a secret. */
export function isSerialisedSecret(value: unknown): value is { value: unknown } {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as Record<string, unknown>)[SECRET_SIG_KEY] === SECRET_SIG
  );
}

function stableId(...parts: string[]): string {
  return createHash("sha256").update(parts.join("/")).digest("hex");
}

function guidFrom(...parts: string[]): string {
  const h = stableId(...parts);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/**
 * Mocks for the whole program: records every resource and invoke, fills the output-only
 * properties the program reads, answers only the invokes the program is known to make and
 * throws on any other (so an unexpected lookup, i.e. a network call in real life, fails).
 */
export class ProgramMocks implements pulumi.runtime.Mocks {
  readonly resources: RecordedResource[] = [];
  readonly invokes: RecordedInvoke[] = [];
  /** "start:<name>" when a registration reaches the mocks, "done:<name>" when it is answered. */
  readonly events: string[] = [];
  /** Options of each registration by logical name, once `recordOptions` is attached. */
  readonly optionsByName = new Map<string, RecordedOptions>();

  constructor(private readonly options: ProgramMocksOptions = {}) {}

  /**
   * Call right after setMocks: wraps the mock monitor so every registration's options
   * (ignoreChanges, retainOnDelete, dependsOn…) are recorded, which only the engine would see.
   */
  recordOptions(): void {
    const monitor = pulumi.runtime.getMonitor() as unknown as {
      registerResource(req: RegisterRequest, callback: unknown): unknown;
    };
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, callback) => {
      this.optionsByName.set(req.getName(), {
        ignoreChanges: req.getIgnorechangesList(),
        retainOnDelete: req.getRetainondelete() ?? false,
        protect: req.getProtect() ?? false,
        deleteBeforeReplace: req.getDeletebeforereplace(),
        dependencies: req.getDependenciesList(),
      });
      return register(req, callback);
    };
  }

  /** The recorded options of the resource with this logical name. */
  optionsOf(name: string): RecordedOptions {
    const options = this.optionsByName.get(name);
    if (!options) throw new Error(`No options recorded for ${name}: call recordOptions() first`);
    return options;
  }

  async newResource(
    args: pulumi.runtime.MockResourceArgs,
  ): Promise<{ id: string; state: Record<string, any> }> {
    this.events.push(`start:${args.name}`);
    const { id, state } = this.outputsFor(args);
    const merged = { ...args.inputs, ...state };
    this.resources.push({
      type: args.type,
      name: args.name,
      id,
      inputs: args.inputs,
      provider: args.provider,
      custom: args.custom ?? false,
      state: merged,
    });
    const delay = this.options.delays?.[args.type];
    if (delay) await new Promise((resolve) => setTimeout(resolve, delay));
    this.events.push(`done:${args.name}`);
    return { id, state: merged };
  }

  call(args: pulumi.runtime.MockCallArgs): Record<string, any> {
    this.invokes.push({ token: args.token, inputs: args.inputs, provider: args.provider });
    switch (args.token) {
      case "azuread:index/getClientConfig:getClientConfig":
        return {
          tenantId: MOCK.tenantId,
          objectId: MOCK.deployerObjectId,
          clientId: "99999999-9999-9999-9999-999999999999",
        };
      case "azuread:index/getServicePrincipal:getServicePrincipal":
        if (args.inputs.clientId === "c5393580-f805-4401-95e8-94b7a6ef2fc2") {
          return {
            objectId: MOCK.managementApisObjectId,
            clientId: args.inputs.clientId,
            appRoles: [
              { id: MOCK.activityFeedReadDlpRoleId, value: "ActivityFeed.ReadDlp" },
              { id: MOCK.activityFeedReadRoleId, value: "ActivityFeed.Read" },
              { id: guidFrom("ServiceHealth.Read"), value: "ServiceHealth.Read" },
            ],
          };
        }
        if (args.inputs.clientId === "00000003-0000-0000-c000-000000000000") {
          return {
            objectId: MOCK.graphObjectId,
            clientId: args.inputs.clientId,
            appRoles: [
              {
                id: guidFrom("AuditLogsQuery-Exchange.Read.All"),
                value: "AuditLogsQuery-Exchange.Read.All",
              },
              { id: MOCK.auditLogsQueryReadRoleId, value: "AuditLogsQuery.Read.All" },
              { id: guidFrom("AuditLog.Read.All"), value: "AuditLog.Read.All" },
              { id: MOCK.userReadAllRoleId, value: "User.Read.All" },
            ],
          };
        }
        if (args.inputs.clientId === "00000007-0000-0000-c000-000000000000") {
          return { objectId: MOCK.dataverseObjectId, clientId: args.inputs.clientId, appRoles: [] };
        }
        throw new Error(`Unexpected service principal lookup: ${JSON.stringify(args.inputs)}`);
      case "azure-native:operationalinsights:getSharedKeys":
        return { primarySharedKey: MOCK.workspaceSharedKey };
      case "azure-native:authorization:getClientToken":
        return { token: MOCK.armAccessToken };
      case "azure-native:authorization:getClientConfig":
        return {
          tenantId: MOCK.subscriptionTenantId,
          objectId: MOCK.deployerObjectId,
          clientId: "99999999-9999-9999-9999-999999999999",
          subscriptionId: MOCK.subscriptionId,
        };
      default:
        throw new Error(`Unexpected invoke ${args.token}: the mocks answer only the program's own`);
    }
  }

  /** Recorded custom resources of one type token. */
  ofType(type: string): RecordedResource[] {
    return this.resources.filter((r) => r.type === type);
  }

  /** The single recorded resource of a type (fails if there are none or several). */
  one(type: string): RecordedResource {
    const found = this.ofType(type);
    if (found.length !== 1) throw new Error(`Expected one ${type}, found ${found.length}`);
    return found[0];
  }

  private outputsFor(args: pulumi.runtime.MockResourceArgs): {
    id: string;
    state: Record<string, any>;
  } {
    const inputs = args.inputs;
    const rg = `/subscriptions/${MOCK.subscriptionId}/resourceGroups/${inputs.resourceGroupName}`;
    switch (args.type) {
      case "azuread:index/application:Application": {
        const objectId = guidFrom("app", args.name);
        return {
          id: `/applications/${objectId}`,
          state: { objectId, clientId: guidFrom("client", args.name) },
        };
      }
      case "azuread:index/servicePrincipal:ServicePrincipal": {
        const objectId = guidFrom("sp", args.name);
        return { id: `/servicePrincipals/${objectId}`, state: { objectId } };
      }
      case "azuread:index/applicationPassword:ApplicationPassword":
        return {
          id: `${inputs.applicationId}/password/${MOCK.passwordKeyId}`,
          state: { value: MOCK.passwordValue, keyId: MOCK.passwordKeyId },
        };
      case "time:index/rotating:Rotating": {
        // As terraform-provider-time does (internal/provider/resource_time_rotating.go): a
        // change of `triggers` or `rfc3339` replaces the resource, whose Create takes the given
        // base or now; any other change (rotation_days) is an in-place Update that recomputes
        // the rotation from the stored base.
        const prior = this.options.priorState?.[args.name];
        const inPlace =
          prior !== undefined &&
          JSON.stringify(prior.inputs.triggers ?? null) ===
            JSON.stringify(inputs.triggers ?? null) &&
          prior.inputs.rfc3339 === inputs.rfc3339;
        const base: string = inPlace
          ? prior.state.rfc3339
          : (inputs.rfc3339 ?? this.options.now ?? MOCK.rotationBase);
        const rotates = new Date(Date.parse(base) + inputs.rotationDays * 86_400_000).toISOString();
        return { id: base, state: { rfc3339: base, rotationRfc3339: rotates } };
      }
      case "time:index/static:Static": {
        const at = inputs.rfc3339 ?? this.options.now ?? MOCK.rotationBase;
        return { id: at, state: { rfc3339: at } };
      }
      case "azure-native:resources:ResourceGroup": {
        // Autonaming appends a random suffix; a fixed one keeps tests deterministic.
        const name = inputs.resourceGroupName ?? `${args.name}a1b2c3d4`;
        return {
          id: `/subscriptions/${MOCK.subscriptionId}/resourceGroups/${name}`,
          state: { name },
        };
      }
      case "azure-native:keyvault:Vault": {
        const name = inputs.vaultName;
        return {
          id: `${rg}/providers/Microsoft.KeyVault/vaults/${name}`,
          state: {
            name,
            properties: { ...inputs.properties, vaultUri: `https://${name}.vault.azure.net/` },
          },
        };
      }
      case "azure-native:keyvault:Secret": {
        const version = stableId("secret-version", JSON.stringify(inputs)).slice(0, 32);
        const uri = `https://${inputs.vaultName}.vault.azure.net/secrets/${inputs.secretName}`;
        // A secret nested in `properties` makes the runtime send all of `properties` as secret.
        const sent = isSerialisedSecret(inputs.properties)
          ? inputs.properties.value
          : inputs.properties;
        // ARM never returns a secret's value: only its URIs and attributes come back.
        const { value: _value, ...properties } = sent as Record<string, unknown>;
        return {
          id: `${rg}/providers/Microsoft.KeyVault/vaults/${inputs.vaultName}/secrets/${inputs.secretName}`,
          state: {
            name: inputs.secretName,
            properties: {
              ...properties,
              secretUri: uri,
              secretUriWithVersion: `${uri}/${version}`,
            },
          },
        };
      }
      case "azure-native:storage:StorageAccount": {
        const name = inputs.accountName;
        return {
          id: `${rg}/providers/Microsoft.Storage/storageAccounts/${name}`,
          state: {
            name,
            primaryEndpoints: {
              blob: `https://${name}.blob.core.windows.net/`,
              table: `https://${name}.table.core.windows.net/`,
            },
          },
        };
      }
      case "azure-native:containerregistry:Registry": {
        const name = inputs.registryName;
        return {
          id: `${rg}/providers/Microsoft.ContainerRegistry/registries/${name}`,
          state: { name, loginServer: this.options.registryLoginServer ?? `${name}.azurecr.io` },
        };
      }
      case "command:local:Command":
        // What the ACR build's second command prints: the pushed image's digest.
        return {
          id: stableId("command", args.name),
          state: {
            stdout: `sha256:${stableId("acr-build", JSON.stringify(inputs))}\n`,
            stderr: "",
          },
        };
      case "docker-build:index:Image": {
        const digest = `sha256:${stableId("image", JSON.stringify(inputs))}`;
        return {
          id: digest,
          state: { digest, ref: `${String(inputs.tags[0]).split(":latest")[0]}@${digest}` },
        };
      }
      case "azure-native:managedidentity:UserAssignedIdentity": {
        const name = `${args.name}-mock`;
        return {
          id: `${rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`,
          state: {
            name,
            clientId: guidFrom("mi-client", args.name),
            principalId: guidFrom("mi-principal", args.name),
          },
        };
      }
      case "azure-native:operationalinsights:Workspace":
        return {
          id: `${rg}/providers/Microsoft.OperationalInsights/workspaces/${args.name}-mock`,
          state: { name: `${args.name}-mock`, customerId: guidFrom("workspace", args.name) },
        };
      // The Dataverse application user's dynamic provider fills these from the Web API's answers.
      case "pulumi-nodejs:dynamic/coe-audit-sync:DataverseApplicationUser": {
        const systemUserId = guidFrom("systemuser", args.name);
        return { id: systemUserId, state: { systemUserId, roleId: guidFrom("role", args.name) } };
      }
      default: {
        const name = `${args.name}-mock`;
        return { id: `${rg}/providers/mock/${name}`, state: { name } };
      }
    }
  }
}

/** Resolves an Output's value in tests (never assert inside a bare apply). */
export function promiseOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply((value) => resolve(value)));
}

/** Waits until the runtime has sent every pending registration to the mocks. */
export async function settle(): Promise<void> {
  // waitForRPCs is exported by the runtime but not typed: it drains the RPC queue, which is
  // what "all resources recorded" means under mocks.
  const runtime = pulumi.runtime as unknown as { waitForRPCs?: () => Promise<void> };
  if (typeof runtime.waitForRPCs !== "function")
    throw new Error("pulumi.runtime.waitForRPCs missing");
  await runtime.waitForRPCs();
}
