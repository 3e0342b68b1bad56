import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import * as https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
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
import { PROJECT, REPO_ROOT, STACK_FILES, readStackConfig } from "./stack-files";

const run = promisify(execFile);

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

  it("leaves the secret variable out when the stack keeps no client secret", async () => {
    const { mocks } = await runProgram("app-user-no-secret", {
      ...base,
      "coe-audit-sync:dataverseUrl": "https://contoso.crm.dynamics.com",
      "coe-audit-sync:coeEnvironmentVariables": "true",
      "coe-audit-sync:clientSecret": "false",
    });
    const [user] = mocks.ofType(DYNAMIC);
    expect(Object.keys(user.inputs.environmentVariables).sort()).toEqual(
      [
        "admin_AuditLogsAudience",
        "admin_AuditLogsAuthority",
        "admin_AuditLogsClientID",
        "admin_AuditLogsUseGraphAPI",
      ].sort(),
    );
  });

  it("serialises a provider that runs in a CommonJS host as Pulumi's, with the deployer's Azure CLI token", async () => {
    const { mocks } = await runProgram("app-user-host", {
      ...base,
      "coe-audit-sync:dataverseUrl": "https://contoso.crm.dynamics.com",
    });
    const [user] = mocks.ofType(DYNAMIC);
    const emu = await startEmulator({
      seed: "dataverse-app-user-host",
      startTime: new Date("2026-03-02T00:00:00Z"),
      tenant: { apps: 4, days: 1 },
      dataverse: { missingAppEvery: 0, applicationUser: "missing" },
    });
    const dir = await mkdtemp(join(tmpdir(), "dv-host-"));
    try {
      const url = emu.dataverse!.url;
      await writeFile(join(dir, "provider.js"), String(user.inputs.__provider));
      await writeFile(join(dir, "ca.pem"), emu.caCertPem);
      // A stand-in for `az account get-access-token --resource <url>`: the deployer's token.
      await writeFile(
        join(dir, "az"),
        `#!/bin/sh\ncase "$*" in *"--resource $DV_RESOURCE"*) ;; *) echo "unexpected: $*" >&2; exit 1;; esac\n` +
          `printf '{"accessToken":"%s","expiresOn":"2099-01-01 00:00:00.000000","expires_on":"4102444800","tokenType":"Bearer"}' "$DV_ADMIN_TOKEN"\n`,
        { mode: 0o755 },
      );
      // What Pulumi's dynamic provider host does: require-from-string, then handler().
      const host = (operation: string, argument: unknown) =>
        run(
          process.execPath,
          [
            "-e",
            `const p = require("require-from-string")(require("fs").readFileSync(process.env.PROVIDER_FILE, "utf8")).handler();
             const arg = JSON.parse(process.env.ARG);
             (process.env.OP === "create" ? p.create(arg) : p.delete(arg.systemUserId, arg))
               .then((r) => console.log(JSON.stringify(r ?? null)), (e) => { console.error(e.message); process.exit(1); });`,
          ],
          {
            cwd: REPO_ROOT,
            env: {
              PATH: `${dir}:${process.env.PATH}`,
              HOME: dir,
              NODE_EXTRA_CA_CERTS: join(dir, "ca.pem"),
              PROVIDER_FILE: join(dir, "provider.js"),
              DV_RESOURCE: url,
              DV_ADMIN_TOKEN: emu.dataverse!.administratorToken(),
              OP: operation,
              ARG: JSON.stringify(argument),
            },
            timeout: 60_000,
          },
        );
      const created = JSON.parse(
        (
          await host("create", {
            ...user.inputs,
            __provider: undefined,
            environmentUrl: url,
            applicationId: emu.tenant.clientId,
          })
        ).stdout,
      ) as { id: string; outs: DataverseAppUserOutputs };
      expect(created.outs).toMatchObject({ createdUser: true, addedRole: true });
      const appToken = await getToken(emu, `${url}/.default`);
      const sink = async () =>
        (
          await send(emu.caCertPem, "GET", `${url}/api/data/v9.2/admin_apps?$top=1`, {
            headers: { Authorization: `Bearer ${appToken}` },
          })
        ).status;
      expect(await sink()).toBe(200);
      await host("delete", created.outs);
      expect(await sink()).toBe(403);
    } finally {
      await emu.stop();
      await rm(dir, { recursive: true, force: true });
    }
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
