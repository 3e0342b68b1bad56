import * as pulumi from "@pulumi/pulumi";

/**
 * The CoE Starter Kit's own admin role (CenterofExcellenceCoreComponents/SolutionPackage/src/
 * Roles/Power Platform Admin SR.xml): Create, Read, Write and Delete on admin_AuditLog and
 * admin_App at Global level, which is what the sink writes. System Administrator would also let
 * the app manage users, roles, solutions and every other table of the environment; a leaked
 * client secret would then own the environment instead of its CoE inventory.
 */
export const DEFAULT_APP_USER_ROLE = "Power Platform Admin SR";

/** What the dynamic provider is given. */
export interface DataverseAppUserInputs {
  /** The environment URL (origin), e.g. https://contoso.crm.dynamics.com. */
  readonly environmentUrl: string;
  /** The Entra app's client id (the application user's `applicationid`). */
  readonly applicationId: string;
  /** The security role given to the application user, by name. */
  readonly roleName: string;
  /** CoE environment variable values to write, by schema name (empty: none). */
  readonly environmentVariables: Record<string, string>;
}

/** What it keeps: enough to undo exactly what it did, and nothing an admin did. */
export interface DataverseAppUserOutputs extends DataverseAppUserInputs {
  readonly systemUserId: string;
  readonly roleId: string;
  /** Whether this resource created the user (false: it found one, e.g. made with `pac`). */
  readonly createdUser: boolean;
  /** Whether this resource associated the role (false: the user had it). */
  readonly addedRole: boolean;
  /** environmentvariablevalue ids this resource created, by schema name. */
  readonly createdValues: Record<string, string>;
}

/** A bearer token for a scope (`{environment URL}/.default`). */
export type TokenSource = (scope: string) => Promise<string>;

/** A Dataverse Web API call failed; the message names the step and what to do, never a token. */
export class DataverseAppUserError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "DataverseAppUserError";
  }
}

interface Answer {
  status: number;
  body: Record<string, unknown> | undefined;
  headers: Record<string, string | string[] | undefined>;
}

interface WebApi {
  readonly origin: string;
  call(method: string, path: string, body?: unknown): Promise<Answer>;
}

/**
 * The deployer's own identity, as the Azure providers use it: the Azure CLI sign-in. Pulumi
 * serialises the provider's code and runs it in its own CommonJS host, so modules are reached
 * there with `require` when called, never through a binding of this ES module.
 */
async function azureCliToken(scope: string): Promise<string> {
  const { AzureCliCredential } = require("@azure/identity") as typeof import("@azure/identity");
  const token = await new AzureCliCredential().getToken(scope);
  if (!token)
    throw new DataverseAppUserError(
      `The Azure CLI gave no token for ${scope}: run \`az login\` as an admin of the environment and retry.`,
    );
  return token.token;
}

const MAX_ATTEMPTS = 4;

/**
 * The Web API of one environment with one token, over node:https (its global agent, so the
 * machine's trusted CAs apply). 429 and 503 are retried after Retry-After, a few times.
 */
async function connect(
  environmentUrl: string,
  tokens: TokenSource,
  signal: AbortSignal,
): Promise<WebApi> {
  // Node's own modules through process (a global the serialised code keeps), not an import.
  const https = process.getBuiltinModule("node:https") as typeof import("node:https");
  const { setTimeout: sleep } = process.getBuiltinModule(
    "node:timers/promises",
  ) as typeof import("node:timers/promises");
  const origin = environmentUrl.replace(/\/+$/, "");
  const token = await tokens(`${origin}/.default`);
  const once = (method: string, path: string, body: unknown): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = https.request(
        `${origin}/api/data/v9.2/${path}`,
        {
          method,
          signal,
          headers: {
            Authorization: `Bearer ${token}`,
            Accept: "application/json",
            "OData-Version": "4.0",
            "OData-MaxVersion": "4.0",
            ...(payload === undefined
              ? {}
              : {
                  "Content-Type": "application/json",
                  "Content-Length": Buffer.byteLength(payload),
                }),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("error", reject);
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            let parsed: Record<string, unknown> | undefined;
            try {
              parsed = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
            } catch {
              parsed = { error: { message: text.slice(0, 300) } };
            }
            resolve({ status: res.statusCode ?? 0, body: parsed, headers: res.headers });
          });
        },
      );
      req.on("error", (cause: Error) =>
        reject(
          new DataverseAppUserError(
            `Could not reach ${origin} (${method} ${path.split("?")[0]}): ${cause.message}. Check dataverseUrl and the network.`,
            undefined,
            { cause },
          ),
        ),
      );
      req.end(payload);
    });
  return {
    origin,
    async call(method, path, body) {
      for (let attempt = 1; ; attempt++) {
        const answer = await once(method, path, body);
        if ((answer.status !== 429 && answer.status !== 503) || attempt >= MAX_ATTEMPTS)
          return answer;
        const after = Number(answer.headers["retry-after"]);
        await sleep(
          Math.min(60, Number.isFinite(after) && after > 0 ? after : 2 ** attempt) * 1000,
          undefined,
          {
            signal,
          },
        );
      }
    },
  };
}

/** Throws what an answer means when it is not one of the expected statuses. */
function check(answer: Answer, ok: number[], step: string): void {
  if (ok.includes(answer.status)) return;
  const err = (answer.body?.error ?? {}) as { code?: string; message?: string };
  const hint =
    answer.status === 401 || answer.status === 403
      ? " The deployer needs the System Administrator role in the environment (or rights to create users and assign roles)."
      : "";
  throw new DataverseAppUserError(
    `${step} failed: Dataverse answered ${answer.status}${err.code ? ` ${err.code}` : ""}${err.message ? ` "${err.message}"` : ""}.${hint}`,
    answer.status,
  );
}

function rowsOf(answer: Answer): Record<string, unknown>[] {
  return (answer.body?.value as Record<string, unknown>[] | undefined) ?? [];
}

const literal = (text: string) => `'${text.replace(/'/g, "''")}'`;
const filter = (text: string) => `$filter=${encodeURIComponent(text)}`;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Makes sure the app has an application user with the role, and the CoE environment variables
 * their values, as "Manage application users" and the Web API reference describe it: the root
 * business unit (the one without parent), `POST systemusers` with `applicationid` unless one
 * exists, then `systemuserroles_association/$ref` to the role unless it is there. Idempotent.
 */
export async function ensureApplicationUser(
  api: WebApi,
  inputs: DataverseAppUserInputs,
): Promise<DataverseAppUserOutputs> {
  if (!GUID.test(inputs.applicationId))
    throw new DataverseAppUserError(`The application id '${inputs.applicationId}' is not a GUID.`);
  const appId = inputs.applicationId.toLowerCase();
  const units = await api.call(
    "GET",
    `businessunits?$select=businessunitid&${filter("_parentbusinessunitid_value eq null")}`,
  );
  check(units, [200], "Finding the root business unit");
  const root = String(rowsOf(units)[0]?.businessunitid ?? "");
  if (!root) throw new DataverseAppUserError(`${api.origin} has no root business unit.`);

  const found = await api.call(
    "GET",
    `systemusers?$select=systemuserid,isdisabled&${filter(`applicationid eq ${appId}`)}`,
  );
  check(found, [200], "Looking up the application user");
  let systemUserId = String(rowsOf(found)[0]?.systemuserid ?? "");
  const createdUser = !systemUserId;
  if (createdUser) {
    const created = await api.call("POST", "systemusers", {
      applicationid: appId,
      "businessunitid@odata.bind": `/businessunits(${root})`,
    });
    check(created, [204, 201], "Creating the application user");
    const entityId = String(created.headers["odata-entityid"] ?? "");
    systemUserId = /\(([^)]+)\)$/.exec(entityId)?.[1] ?? String(created.body?.systemuserid ?? "");
  } else if (rowsOf(found)[0]?.isdisabled === true) {
    const enabled = await api.call("PATCH", `systemusers(${systemUserId})`, { isdisabled: false });
    check(enabled, [204], "Activating the existing application user");
  }

  const roles = await api.call(
    "GET",
    `roles?$select=roleid&${filter(`name eq ${literal(inputs.roleName)} and _businessunitid_value eq ${root}`)}`,
  );
  check(roles, [200], `Looking up the role '${inputs.roleName}'`);
  const roleId = String(rowsOf(roles)[0]?.roleid ?? "");
  if (!roleId)
    throw new DataverseAppUserError(
      `The environment has no security role named '${inputs.roleName}' in its root business unit. ` +
        `Install the CoE Starter Kit's Core Components (they bring '${DEFAULT_APP_USER_ROLE}'), or name an existing role: ` +
        "`pulumi config set dataverseAppUserRole <role name>`.",
    );
  const has = await api.call(
    "GET",
    `systemusers(${systemUserId})/systemuserroles_association?$select=roleid&${filter(`roleid eq ${roleId}`)}`,
  );
  check(has, [200], "Reading the application user's roles");
  const addedRole = rowsOf(has).length === 0;
  if (addedRole) {
    const linked = await api.call(
      "POST",
      `systemusers(${systemUserId})/systemuserroles_association/$ref`,
      { "@odata.id": `${api.origin}/api/data/v9.2/roles(${roleId})` },
    );
    check(linked, [204], `Giving the application user the role '${inputs.roleName}'`);
  }

  const createdValues: Record<string, string> = {};
  for (const [schemaName, value] of Object.entries(inputs.environmentVariables)) {
    const id = await setEnvironmentVariable(api, schemaName, value);
    if (id) createdValues[schemaName] = id;
  }
  return { ...inputs, systemUserId, roleId, createdUser, addedRole, createdValues };
}

/** Writes one environment variable's value; returns the value row's id when it created it. */
async function setEnvironmentVariable(
  api: WebApi,
  schemaName: string,
  value: string,
): Promise<string | undefined> {
  const definitions = await api.call(
    "GET",
    `environmentvariabledefinitions?$select=environmentvariabledefinitionid&${filter(`schemaname eq ${literal(schemaName)}`)}`,
  );
  check(definitions, [200], `Looking up the environment variable ${schemaName}`);
  const definitionId = String(rowsOf(definitions)[0]?.environmentvariabledefinitionid ?? "");
  if (!definitionId)
    throw new DataverseAppUserError(
      `The environment has no environment variable ${schemaName}: install the CoE Starter Kit's Core Components first, or set coeEnvironmentVariables to false.`,
    );
  const values = await api.call(
    "GET",
    `environmentvariablevalues?$select=environmentvariablevalueid&${filter(`_environmentvariabledefinitionid_value eq ${definitionId}`)}`,
  );
  check(values, [200], `Reading the value of ${schemaName}`);
  const existing = String(rowsOf(values)[0]?.environmentvariablevalueid ?? "");
  if (existing) {
    const updated = await api.call("PATCH", `environmentvariablevalues(${existing})`, { value });
    check(updated, [204], `Updating the value of ${schemaName}`);
    return undefined;
  }
  const created = await api.call("POST", "environmentvariablevalues", {
    schemaname: schemaName,
    value,
    "EnvironmentVariableDefinitionId@odata.bind": `/environmentvariabledefinitions(${definitionId})`,
  });
  check(created, [204, 201], `Setting the value of ${schemaName}`);
  return /\(([^)]+)\)$/.exec(String(created.headers["odata-entityid"] ?? ""))?.[1];
}

/**
 * Undoes what `ensureApplicationUser` did, and only that: the values it created, the role it
 * added, and the user it created. Dataverse deletes an application user only once it is inactive
 * ("Only application users with the inactive state can be deleted", Manage application users), so
 * the user is deactivated, then deleted. Rows already gone are fine.
 */
export async function removeApplicationUser(
  api: WebApi,
  outs: DataverseAppUserOutputs,
): Promise<void> {
  for (const [schemaName, id] of Object.entries(outs.createdValues ?? {})) {
    const removed = await api.call("DELETE", `environmentvariablevalues(${id})`);
    check(removed, [204, 404], `Removing the value of ${schemaName}`);
  }
  if (outs.addedRole) {
    const unlinked = await api.call(
      "DELETE",
      `systemusers(${outs.systemUserId})/systemuserroles_association(${outs.roleId})/$ref`,
    );
    check(unlinked, [204, 404], `Removing the role '${outs.roleName}'`);
  }
  if (!outs.createdUser) return;
  const disabled = await api.call("PATCH", `systemusers(${outs.systemUserId})`, {
    isdisabled: true,
  });
  check(disabled, [204, 404], "Deactivating the application user");
  if (disabled.status === 404) return;
  const deleted = await api.call("DELETE", `systemusers(${outs.systemUserId})`);
  check(deleted, [204, 404], "Deleting the application user");
}

/** Every operation of the provider finishes within this, or is aborted. */
const OPERATION_TIMEOUT_MS = 5 * 60_000;

/**
 * The dynamic provider: create ensures, delete undoes; any change of input replaces (deleting
 * first, since an app has one application user per environment). `tokens` defaults to the
 * deployer's Azure CLI sign-in.
 */
export function dataverseAppUserProvider(
  tokens: TokenSource = azureCliToken,
): pulumi.dynamic.ResourceProvider {
  return {
    async create(inputs: DataverseAppUserInputs) {
      const signal = AbortSignal.timeout(OPERATION_TIMEOUT_MS);
      const api = await connect(inputs.environmentUrl, tokens, signal);
      const outs = await ensureApplicationUser(api, inputs);
      return { id: outs.systemUserId, outs };
    },
    async delete(_id: string, outs: DataverseAppUserOutputs) {
      const signal = AbortSignal.timeout(OPERATION_TIMEOUT_MS);
      await removeApplicationUser(await connect(outs.environmentUrl, tokens, signal), outs);
    },
    async diff(_id: string, olds: DataverseAppUserOutputs, news: DataverseAppUserInputs) {
      const replaces = (
        ["environmentUrl", "applicationId", "roleName", "environmentVariables"] as const
      ).filter((key) => JSON.stringify(olds[key]) !== JSON.stringify(news[key]));
      return { changes: replaces.length > 0, replaces, deleteBeforeReplace: true };
    },
  };
}

export interface DataverseApplicationUserArgs {
  /** The CoE environment's URL (origin). Required. */
  readonly environmentUrl: pulumi.Input<string>;
  /** The Entra app's client id. Required. */
  readonly applicationId: pulumi.Input<string>;
  /** The security role to give, by name. Default "Power Platform Admin SR" (the CoE's). */
  readonly roleName?: pulumi.Input<string>;
  /** CoE environment variable values to write, by schema name. Default none. */
  readonly environmentVariables?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** Where the deployer's token comes from. Default the Azure CLI sign-in (tests inject one). */
  readonly tokens?: TokenSource;
}

class ApplicationUserResource extends pulumi.dynamic.Resource {
  declare readonly systemUserId: pulumi.Output<string>;
  declare readonly roleId: pulumi.Output<string>;

  constructor(
    name: string,
    props: Record<string, pulumi.Input<unknown>>,
    tokens: TokenSource | undefined,
    opts: pulumi.CustomResourceOptions,
  ) {
    super(
      dataverseAppUserProvider(tokens),
      name,
      { ...props, systemUserId: undefined, roleId: undefined },
      opts,
      "coe-audit-sync",
      "DataverseApplicationUser",
    );
  }
}

/**
 * The app's application user in the CoE environment, made through the Dataverse Web API as the
 * deployer: no `pac admin assign-user` step. On destroy it removes its role and deactivates and
 * deletes the user (Dataverse deletes only inactive application users).
 */
export class DataverseApplicationUser extends pulumi.ComponentResource {
  /** The systemuser id of the application user. */
  public readonly systemUserId: pulumi.Output<string>;
  /** The id of the role it was given. */
  public readonly roleId: pulumi.Output<string>;

  constructor(
    name: string,
    args: DataverseApplicationUserArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("coe-audit-sync:index:DataverseApplicationUser", name, {}, opts);
    const user = new ApplicationUserResource(
      `${name}-user`,
      {
        environmentUrl: args.environmentUrl,
        applicationId: args.applicationId,
        roleName: args.roleName ?? DEFAULT_APP_USER_ROLE,
        environmentVariables: args.environmentVariables ?? {},
      },
      args.tokens,
      { parent: this },
    );
    this.systemUserId = user.systemUserId;
    this.roleId = user.roleId;
    this.registerOutputs({ systemUserId: this.systemUserId, roleId: this.roleId });
  }
}
