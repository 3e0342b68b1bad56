import * as https from "node:https";
import * as pulumi from "@pulumi/pulumi";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  DEFAULT_APP_USER_ROLE,
  DataverseAppUserError,
  dataverseAppUserProvider,
  type DataverseAppUserInputs,
  type DataverseAppUserOutputs,
} from "../../components/dataverse-app-user";
import { startEmulator, type RunningEmulator } from "../../emulator/index";
import { getToken, send } from "../unit/emulator/helpers";
import { CLOUDS } from "../../components/clouds";
import { MOCK, ProgramMocks, promiseOf, settle } from "./mocks";
import { PROJECT, STACK_FILES, readStackConfig } from "./stack-files";

const q = (text: string) => encodeURIComponent(text);

/**
 * The dynamic provider's create and delete, called as the Pulumi engine calls them, against the
 * Dataverse emulator over HTTPS: the application user appears with its role (and the sink's own
 * token is then let in), a second create finds it instead of making another, delete undoes
 * exactly what create did (never a user or role an admin made).
 */
describe("the Dataverse application user provider against the emulator", () => {
  let emu: RunningEmulator;
  let url: string;
  let defaultCa: https.AgentOptions["ca"];
  const scopes: string[] = [];

  beforeAll(async () => {
    emu = await startEmulator({
      seed: "dataverse-app-user",
      startTime: new Date("2026-03-02T00:00:00Z"),
      tenant: { apps: 4, days: 1 },
      dataverse: { missingAppEvery: 0, applicationUser: "missing" },
    });
    url = emu.dataverse!.url;
    // The provider uses node:https's global agent (the machine's CAs); here it trusts the emulator's.
    defaultCa = https.globalAgent.options.ca;
    https.globalAgent.options.ca = emu.caCertPem;
  });
  afterAll(async () => {
    https.globalAgent.options.ca = defaultCa;
    await emu?.stop();
  });

  const provider = () =>
    dataverseAppUserProvider(async (scope) => {
      scopes.push(scope);
      return emu.dataverse!.administratorToken();
    });
  const inputs = (extra: Partial<DataverseAppUserInputs> = {}): DataverseAppUserInputs => ({
    environmentUrl: `${url}/`,
    applicationId: emu.tenant.clientId.toUpperCase(),
    roleName: DEFAULT_APP_USER_ROLE,
    environmentVariables: {},
    ...extra,
  });
  const admin = async (path: string) => {
    const res = await send(emu.caCertPem, "GET", `${url}/api/data/v9.2/${path}`, {
      headers: { Authorization: `Bearer ${emu.dataverse!.administratorToken()}` },
    });
    return JSON.parse(res.body).value as Record<string, unknown>[];
  };
  const appUsers = () =>
    admin(`systemusers?$filter=${q(`applicationid eq ${emu.tenant.clientId.toLowerCase()}`)}`);
  /** What the sink would get: its own client-credentials token against the CoE table. */
  const sinkStatus = async () =>
    (
      await send(emu.caCertPem, "GET", `${url}/api/data/v9.2/admin_apps?$top=1`, {
        headers: { Authorization: `Bearer ${await getToken(emu, `${url}/.default`)}` },
      })
    ).status;

  it("creates the application user with the role, idempotently, and delete removes it", async () => {
    expect(await sinkStatus()).toBe(403);
    const created = await provider().create(
      inputs({
        environmentVariables: {
          admin_AuditLogsClientID: emu.tenant.clientId,
          admin_AuditLogsUseGraphAPI: "no",
        },
      }),
    );
    const outs = created.outs as DataverseAppUserOutputs;
    expect(created.id).toBe(outs.systemUserId);
    expect(outs).toMatchObject({ createdUser: true, addedRole: true });
    expect(scopes).toContain(`${url}/.default`);
    expect(await sinkStatus()).toBe(200);
    const values = await admin("environmentvariablevalues?$select=schemaname,value");
    expect(values.map((v) => [v.schemaname, v.value]).sort()).toEqual(
      [
        ["admin_AuditLogsClientID", emu.tenant.clientId],
        ["admin_AuditLogsUseGraphAPI", "no"],
      ].sort(),
    );

    // Created again (a state lost, an import): it finds the user and the role, makes nothing.
    const again = (await provider().create(inputs())).outs as DataverseAppUserOutputs;
    expect(again).toMatchObject({
      systemUserId: outs.systemUserId,
      createdUser: false,
      addedRole: false,
    });
    expect(await appUsers()).toHaveLength(1);

    await provider().delete!(outs.systemUserId, outs);
    expect(await appUsers()).toEqual([]);
    expect(await admin("environmentvariablevalues")).toEqual([]);
    expect(await sinkStatus()).toBe(403);
    // Deleting again (already gone) is fine.
    await provider().delete!(outs.systemUserId, outs);
  });

  it("adopts a user an admin made and leaves it, and its role, in place on delete", async () => {
    emu.dataverse!.setApplicationUser("present");
    const outs = (await provider().create(inputs())).outs as DataverseAppUserOutputs;
    expect(outs).toMatchObject({ createdUser: false, addedRole: false });
    await provider().delete!(outs.systemUserId, outs);
    expect(await appUsers()).toHaveLength(1);
    expect(await sinkStatus()).toBe(200);
    emu.dataverse!.setApplicationUser("missing");
  });

  it("names the config key when the role does not exist, and the role needed when the deployer may not create users", async () => {
    const noRole = provider().create(inputs({ roleName: "No Such Role" }));
    await expect(noRole).rejects.toThrow(DataverseAppUserError);
    await expect(noRole).rejects.toThrow(/No Such Role.*dataverseAppUserRole/s);

    const notAdmin = dataverseAppUserProvider(async () => getToken(emu, `${url}/.default`));
    await expect(notAdmin.create(inputs())).rejects.toThrow(/403.*System Administrator/s);
  });

  it("replaces, deleting first, when any input changes", async () => {
    const p = provider();
    const olds = {
      ...inputs(),
      systemUserId: "x",
      roleId: "y",
      createdUser: true,
      addedRole: true,
      createdValues: {},
    };
    expect(await p.diff!("x", olds, inputs())).toMatchObject({ changes: false, replaces: [] });
    expect(await p.diff!("x", olds, inputs({ roleName: "System Administrator" }))).toMatchObject({
      changes: true,
      replaces: ["roleName"],
      deleteBeforeReplace: true,
    });
  });
});

/** The program under Pulumi mocks, with a prebuilt image (no registry, no token exchange). */
describe("the program's application user, under mocks", () => {
  const DYNAMIC = "pulumi-nodejs:dynamic/coe-audit-sync:DataverseApplicationUser";
  const dev = readStackConfig(STACK_FILES.dev);
  const base = {
    ...dev,
    "coe-audit-sync:syncImage": "example.azurecr.io/coe-audit-sync:1.0.0",
  };

  async function runProgram(stack: string, config: Record<string, string>) {
    const mocks = new ProgramMocks();
    await pulumi.runtime.setMocks(mocks, PROJECT, stack, false);
    mocks.recordOptions();
    pulumi.runtime.setAllConfig(config);
    vi.resetModules();
    const program = await import("../../index");
    await settle();
    return { mocks, program };
  }

  it("creates it with dataverseUrl for the app, the CoE role and no environment variables by default", async () => {
    const { mocks, program } = await runProgram("app-user", {
      ...base,
      "coe-audit-sync:dataverseUrl": "https://contoso.crm.dynamics.com",
    });
    const [user] = mocks.ofType(DYNAMIC);
    const registration = mocks.one("azuread:index/application:Application");
    expect(user.name).toBe("coe-app-user-user");
    expect(user.inputs).toMatchObject({
      environmentUrl: "https://contoso.crm.dynamics.com",
      applicationId: registration.state.clientId,
      roleName: DEFAULT_APP_USER_ROLE,
      environmentVariables: {},
    });
    // The provider's code travels with the resource, for the engine to run.
    expect(typeof user.inputs.__provider).toBe("string");
    expect(user.inputs.__provider).toContain("systemuserroles_association");
    expect(mocks.optionsOf("coe-app-user-user").retainOnDelete).toBe(false);
    expect(await promiseOf(program.dataverseApplicationUserId!)).toBe(user.state.systemUserId);
    expect(user.state.systemUserId).toBe(user.id);

    const off = await runProgram("no-app-user", base);
    expect(off.mocks.ofType(DYNAMIC)).toEqual([]);
    expect(off.program.dataverseApplicationUserId).toBeUndefined();
  });

  it("writes the CoE environment variables when asked, the secret only as its Key Vault reference", async () => {
    const { mocks } = await runProgram("app-user-variables", {
      ...base,
      "coe-audit-sync:dataverseUrl": "https://contoso.crm.dynamics.com",
      "coe-audit-sync:coeEnvironmentVariables": "true",
      "coe-audit-sync:dataverseAppUserRole": "System Administrator",
    });
    const [user] = mocks.ofType(DYNAMIC);
    const registration = mocks.one("azuread:index/application:Application");
    const vault = mocks.one("azure-native:keyvault:Vault");
    expect(user.inputs.roleName).toBe("System Administrator");
    expect(user.inputs.environmentVariables).toEqual({
      admin_AuditLogsUseGraphAPI: "no",
      admin_AuditLogsAudience: CLOUDS.commercial.audience,
      admin_AuditLogsAuthority: CLOUDS.commercial.authority,
      admin_AuditLogsClientID: registration.state.clientId,
      admin_AuditLogsClientAzureSecret: `${vault.id}/secrets/audit-client-secret`,
    });
    expect(JSON.stringify(user.inputs)).not.toContain(MOCK.passwordValue);
  });

  it("refuses coeEnvironmentVariables without dataverseUrl, naming the key", async () => {
    await expect(
      runProgram("variables-without-url", {
        ...base,
        "coe-audit-sync:coeEnvironmentVariables": "true",
      }),
    ).rejects.toThrow(/coeEnvironmentVariables/);
  });
});
