import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROLES } from "../../components/roles";

// The policy pack as the Pulumi CLI starts it: pulumi-language-nodejs runs
// `node @pulumi/pulumi/cmd/run-policy-pack <engine> <pack dir>` in the pack's directory
// (RunPlugin, kind analyzer), the pack prints the port of its analyzer gRPC server, and the
// engine calls GetAnalyzerInfo, then Analyze per resource and AnalyzeStack at the end. The engine
// address is only passed through, so none is needed here.
const require = createRequire(import.meta.url);
const grpc = require("@grpc/grpc-js") as typeof import("@grpc/grpc-js");
const analyzerPb = require("@pulumi/pulumi/proto/analyzer_pb");
const analyzerGrpc = require("@pulumi/pulumi/proto/analyzer_grpc_pb");
const { Empty } = require("google-protobuf/google/protobuf/empty_pb");
const { Struct } = require("google-protobuf/google/protobuf/struct_pb");

const PACK_DIR = fileURLToPath(new URL("../../policy/", import.meta.url));
const RUN_POLICY_PACK = require.resolve("@pulumi/pulumi/cmd/run-policy-pack");
/** The engine's marker for a value that is not known during preview (pulumi runtime rpc). */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
/** EnforcementLevel.MANDATORY in pulumirpc's analyzer.proto. */
const MANDATORY = analyzerPb.EnforcementLevel.MANDATORY;

let pack: ChildProcess;
let client: any;
let stderr = "";

function call<T>(method: string, request: unknown): Promise<T> {
  return new Promise((resolve, reject) =>
    client[method](request, (error: Error | null, response: T) =>
      error ? reject(error) : resolve(response),
    ),
  );
}

beforeAll(async () => {
  pack = spawn(process.execPath, [RUN_POLICY_PACK, "127.0.0.1:1", PACK_DIR], {
    cwd: PACK_DIR,
    stdio: ["ignore", "pipe", "pipe"],
  });
  pack.stderr!.on("data", (chunk) => (stderr += chunk));
  const port = await new Promise<string>((resolve, reject) => {
    let out = "";
    pack.stdout!.on("data", (chunk) => {
      out += chunk;
      const line = /^(\d+)\r?\n/.exec(out);
      if (line) resolve(line[1]!);
    });
    pack.on("exit", (code) => reject(new Error(`policy pack exited ${code}: ${stderr}`)));
  });
  client = new analyzerGrpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
});

afterAll(() => {
  client?.close();
  if (pack?.pid !== undefined && pack.exitCode === null) process.kill(pack.pid);
});

function analyzeRequest(type: string, name: string, props: Record<string, unknown>): unknown {
  const request = new analyzerPb.AnalyzeRequest();
  request.setType(type);
  request.setName(name);
  request.setUrn(`urn:pulumi:dev::coe-audit-sync::${type}::${name}`);
  request.setProperties(Struct.fromJavaScript(props));
  // The engine always sends the resource options; the SDK refuses a request without them.
  request.setOptions(new analyzerPb.AnalyzerResourceOptions());
  return request;
}

interface Diagnostic {
  policy: string;
  message: string;
  level: number;
}

async function analyze(type: string, name: string, props: Record<string, unknown>) {
  const response: any = await call("analyze", analyzeRequest(type, name, props));
  return response.getDiagnosticsList().map((d: any): Diagnostic => ({
    policy: d.getPolicyname(),
    message: d.getMessage(),
    level: d.getEnforcementlevel(),
  }));
}

const assignment = (roleGuid: string, scope: string) => ({
  scope,
  principalId: "33333333-3333-3333-3333-333333333333",
  principalType: "ServicePrincipal",
  roleDefinitionId: `/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/${roleGuid}`,
});
const vaultScope = "/subscriptions/s/resourceGroups/g/providers/Microsoft.KeyVault/vaults/kv";

describe("the policy pack under @pulumi/pulumi's run-policy-pack", () => {
  it("loads (TypeScript through tsx) and serves coe-audit-sync with every policy mandatory", async () => {
    const info: any = await call("getAnalyzerInfo", new Empty());
    expect(info.getName()).toBe("coe-audit-sync");
    expect(info.getVersion()).toBe("0.1.0");
    expect(info.getSupportsconfig()).toBe(true);
    const policies = info.getPoliciesList().map((p: any) => [p.getName(), p.getEnforcementlevel()]);
    expect(policies).toEqual([
      ["key-vault-rbac-and-purge-protection", MANDATORY],
      ["key-vault-audit-logs", MANDATORY],
      ["storage-entra-only-tls12", MANDATORY],
      ["storage-archive-protection", MANDATORY],
      ["container-app-internal-single-pinned", MANDATORY],
      ["entra-app-least-permissions", MANDATORY],
      ["client-secret-lifetime", MANDATORY],
      ["role-assignment-resource-scope", MANDATORY],
    ]);
  });

  it("passes a data role on one resource and fails Owner on a resource group, as mandatory", async () => {
    const type = "azure-native:authorization:RoleAssignment";
    expect(await analyze(type, "ok", assignment(ROLES.keyVaultSecretsUser, vaultScope))).toEqual(
      [],
    );
    const owner = assignment(
      "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
      "/subscriptions/s/resourceGroups/g",
    );
    const diagnostics = await analyze(type, "too-wide", owner);
    expect(diagnostics.map((d: Diagnostic) => [d.policy, d.level])).toEqual([
      ["role-assignment-resource-scope", MANDATORY],
      ["role-assignment-resource-scope", MANDATORY],
    ]);
    expect(diagnostics[0].message).toMatch(/"too-wide" must be scoped to one resource/);
    expect(diagnostics[1].message).toMatch(/grants Owner/);
  });

  it("defers a check whose input is unknown during preview (advisory, not a violation)", async () => {
    const type = "azure-native:authorization:RoleAssignment";
    const diagnostics = await analyze(type, "new", assignment(ROLES.acrPull, UNKNOWN));
    expect(diagnostics).toHaveLength(1);
    expect(diagnostics[0].message).toMatch(
      /can't run policy 'role-assignment-resource-scope'.*during preview/,
    );
    expect(diagnostics[0].level).toBe(analyzerPb.EnforcementLevel.ADVISORY);
  });

  it("defers only the check that reads an unknown value: an image still to be built", async () => {
    const diagnostics = await analyze("azure-native:app:ContainerApp", "sync-app", {
      configuration: { activeRevisionsMode: "Single" },
      template: {
        containers: [{ name: "sync", image: UNKNOWN }],
        scale: { minReplicas: 1, maxReplicas: 2 },
      },
    });
    expect(diagnostics.map((d: Diagnostic) => d.level)).toEqual([
      MANDATORY,
      analyzerPb.EnforcementLevel.ADVISORY,
    ]);
    expect(diagnostics[0].message).toMatch(/maxReplicas to 1 \(found 2\)/);
    expect(diagnostics[1].message).toMatch(
      /can't run policy 'container-app-internal-single-pinned'/,
    );
  });

  it("finds a vault's audit setting through the property dependencies the engine sends", async () => {
    const vaultUrn = "urn:pulumi:dev::coe-audit-sync::azure-native:keyvault:Vault::vault";
    const resource = (type: string, name: string, props: Record<string, unknown>) => {
      const r = new analyzerPb.AnalyzerResource();
      r.setType(type);
      r.setName(name);
      r.setUrn(`urn:pulumi:dev::coe-audit-sync::${type}::${name}`);
      r.setProperties(Struct.fromJavaScript(props));
      r.setOptions(new analyzerPb.AnalyzerResourceOptions());
      return r;
    };
    const vault = resource("azure-native:keyvault:Vault", "vault", { name: "kv-dev-1234" });
    // The outputs of a diagnostic setting: ARM does not return resourceUri.
    const setting = resource("azure-native:monitor:DiagnosticSetting", "vault-audit", {
      workspaceId:
        "/subscriptions/s/resourceGroups/g/providers/Microsoft.OperationalInsights/workspaces/w",
      logs: [{ category: "AuditEvent", enabled: true }],
    });
    const stack = async (resources: unknown[]) => {
      const request = new analyzerPb.AnalyzeStackRequest();
      request.setResourcesList(resources);
      const response: any = await call("analyzeStack", request);
      return response.getDiagnosticsList().map((d: any) => [d.getPolicyname(), d.getUrn()]);
    };
    expect(await stack([vault, setting])).toEqual([["key-vault-audit-logs", vaultUrn]]);
    const deps = new analyzerPb.AnalyzerPropertyDependencies();
    deps.setUrnsList([vaultUrn]);
    setting.getPropertydependenciesMap().set("resourceUri", deps);
    expect(await stack([vault, setting])).toEqual([]);
  });
});
