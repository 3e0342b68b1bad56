import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SECRET_LIFETIME_DAYS } from "../../components/config";
import { OFFICE365_MANAGEMENT_APP_ID } from "../../components/audit-app-registration";
import { ROLES } from "../../components/roles";
import { policies } from "../../policy/policies";
import {
  APPLICATION_PASSWORD_TYPE,
  DEFAULT_MAX_SECRET_LIFETIME_DAYS,
  checkClientSecret,
} from "../../policy/rules/client-secret";
import { CONTAINER_APP_TYPE } from "../../policy/rules/container-app";
import {
  APPLICATION_TYPE,
  MICROSOFT_GRAPH,
  OFFICE365_MANAGEMENT_APIS,
  checkApplicationPermissions,
} from "../../policy/rules/entra-app";
import { DIAGNOSTIC_SETTING_TYPES, KEY_VAULT_TYPE } from "../../policy/rules/key-vault";
import type { PolicySubject } from "../../policy/rules/resource";
import { PRIVILEGED_ROLES, ROLE_ASSIGNMENT_TYPE } from "../../policy/rules/role-assignment";
import {
  BLOB_SERVICE_TYPE,
  MANAGEMENT_POLICY_TYPE,
  STORAGE_ACCOUNT_TYPE,
} from "../../policy/rules/storage";
import { STACK_FILES, readStackConfig } from "../pulumi/stack-files";
import { runPolicies, type PackConfig, type Reported } from "./harness";
import {
  recordProgram,
  startTrustedFakeAcr,
  subjectsOf,
  type TrustedFakeAcr,
} from "./program-resources";

const DAY = 86_400_000;
const DIAGNOSTIC_SETTING = DIAGNOSTIC_SETTING_TYPES[0];
/** Microsoft Graph's AuditLogsQuery.Read.All app role (the same id in every tenant). */
const AUDIT_LOGS_QUERY_READ_ALL = "5e1e9171-754d-478c-812c-f1755a9a4c2d";

let fake: TrustedFakeAcr;
/** The dev stack's resources as resource policies see them (inputs) and as stack policies do. */
let inputs: PolicySubject[];
let state: PolicySubject[];

beforeAll(async () => {
  fake = await startTrustedFakeAcr();
  const mocks = await recordProgram("dev", readStackConfig(STACK_FILES.dev), fake.acr);
  inputs = subjectsOf(mocks, "inputs", "dev");
  state = subjectsOf(mocks, "state", "dev");
});
afterAll(async () => {
  await fake?.stop();
});

function only(subjects: readonly PolicySubject[], type: string): PolicySubject {
  const found = subjects.filter((s) => s.type === type);
  if (found.length === 0) throw new Error(`no ${type} recorded`);
  return found[0]!;
}

/** A copy of a recorded resource with its properties edited. */
function broken(subject: PolicySubject, edit: (props: Record<string, any>) => void): PolicySubject {
  const props = structuredClone(subject.props);
  edit(props);
  return { ...subject, props };
}

function replaced(subjects: readonly PolicySubject[], by: PolicySubject): PolicySubject[] {
  expect(subjects.some((s) => s.urn === by.urn)).toBe(true);
  return subjects.map((s) => (s.urn === by.urn ? by : s));
}

/** Every policy over the dev stack with one resource (as the policies see it) replaced. */
async function reportedWith(
  resource: PolicySubject | undefined,
  view: "inputs" | "state" = "inputs",
  config: PackConfig = {},
  stack?: PolicySubject[],
): Promise<Reported[]> {
  const resources = resource && view === "inputs" ? replaced(inputs, resource) : inputs;
  const after = stack ?? (resource && view === "state" ? replaced(state, resource) : state);
  return runPolicies(policies, resources, after, config);
}

/** Asserts that only `policy` reported, about `subject`, with messages matching `patterns`. */
function expectOnly(
  reported: Reported[],
  policy: string,
  subject: PolicySubject,
  ...patterns: RegExp[]
): void {
  expect(reported.map((r) => r.policy)).toEqual(patterns.map(() => policy));
  patterns.forEach((pattern, i) => {
    expect(reported[i]!.message).toContain(`"${subject.name}"`);
    expect(reported[i]!.message).toMatch(pattern);
    expect(reported[i]!.urn).toBe(subject.urn);
  });
}

it("the compliant dev stack passes every policy", async () => {
  expect(await reportedWith(undefined)).toEqual([]);
});

describe("key-vault-rbac-and-purge-protection", () => {
  const policy = "key-vault-rbac-and-purge-protection";
  const vault = () => only(inputs, KEY_VAULT_TYPE);

  it.each([
    [
      "RBAC off",
      (p: any) => (p.properties.enableRbacAuthorization = false),
      /enableRbacAuthorization to true/,
    ],
    [
      "RBAC unset",
      (p: any) => delete p.properties.enableRbacAuthorization,
      /enableRbacAuthorization/,
    ],
    [
      "purge protection off",
      (p: any) => (p.properties.enablePurgeProtection = false),
      /enablePurgeProtection to true/,
    ],
    [
      "purge protection unset",
      (p: any) => delete p.properties.enablePurgeProtection,
      /enablePurgeProtection/,
    ],
  ])("reports a vault with %s", async (_, edit, message) => {
    expectOnly(await reportedWith(broken(vault(), edit)), policy, vault(), message);
  });

  it("reports both settings when both are missing", async () => {
    const bare = broken(vault(), (p) => (p.properties = { tenantId: p.properties.tenantId }));
    expectOnly(await reportedWith(bare), policy, vault(), /RBAC/, /purge protection/);
  });
});

describe("key-vault-audit-logs", () => {
  const policy = "key-vault-audit-logs";
  const vault = () => only(state, KEY_VAULT_TYPE);
  const setting = () => only(state, DIAGNOSTIC_SETTING);
  const missing = /no diagnostic setting sending its AuditEvent log/;

  it("reports a vault without any diagnostic setting", async () => {
    const stack = state.filter((s) => s.type !== DIAGNOSTIC_SETTING);
    expectOnly(await reportedWith(undefined, "state", {}, stack), policy, vault(), missing);
  });

  it.each([
    [
      "another category",
      (p: any) => (p.logs = [{ category: "AzurePolicyEvaluationDetails", enabled: true }]),
    ],
    ["AuditEvent disabled", (p: any) => (p.logs = [{ category: "AuditEvent", enabled: false }])],
    ["no logs", (p: any) => delete p.logs],
    ["no workspace", (p: any) => delete p.workspaceId],
    [
      "another vault",
      (p: any) => (p.resourceUri = p.resourceUri.replace(/vaults\/.*/, "vaults/kv-other")),
    ],
    [
      "a storage account",
      (p: any) =>
        (p.resourceUri = p.resourceUri.replace(
          /Microsoft\.KeyVault\/vaults\/.*/,
          "Microsoft.Storage/storageAccounts/st",
        )),
    ],
  ])("reports a vault whose setting has %s", async (_, edit) => {
    expectOnly(await reportedWith(broken(setting(), edit), "state"), policy, vault(), missing);
  });

  it.each([
    ["categoryGroup audit", (p: any) => (p.logs = [{ categoryGroup: "audit", enabled: true }])],
    ["categoryGroup allLogs", (p: any) => (p.logs = [{ categoryGroup: "allLogs", enabled: true }])],
  ])("accepts %s", async (_, edit) => {
    expect(await reportedWith(broken(setting(), edit), "state")).toEqual([]);
  });

  it("accepts the insights:DiagnosticSetting alias", async () => {
    const alias = { ...setting(), type: "azure-native:insights:DiagnosticSetting" };
    expect(await reportedWith(alias, "state", {}, replaced(state, alias))).toEqual([]);
  });

  it("links the setting through the engine's property dependencies when ARM does not echo resourceUri", async () => {
    const noUri = broken(setting(), (p) => delete p.resourceUri);
    expectOnly(await reportedWith(noUri, "state"), policy, vault(), missing);
    const linked = { ...noUri, propertyDependencies: { resourceUri: [vault().urn!] } };
    expect(await reportedWith(linked, "state")).toEqual([]);
  });
});

describe("storage-entra-only-tls12", () => {
  const policy = "storage-entra-only-tls12";
  const account = () => only(inputs, STORAGE_ACCOUNT_TYPE);

  it.each([
    [
      "shared keys on",
      (p: any) => (p.allowSharedKeyAccess = true),
      /allowSharedKeyAccess to false/,
    ],
    [
      "shared keys unset",
      (p: any) => delete p.allowSharedKeyAccess,
      /allowSharedKeyAccess to false/,
    ],
    [
      "public blobs on",
      (p: any) => (p.allowBlobPublicAccess = true),
      /allowBlobPublicAccess to false/,
    ],
    [
      "public blobs unset",
      (p: any) => delete p.allowBlobPublicAccess,
      /allowBlobPublicAccess to false/,
    ],
    [
      "TLS 1.0",
      (p: any) => (p.minimumTlsVersion = "TLS1_0"),
      /minimumTlsVersion to "TLS1_2" \(found "TLS1_0"\)/,
    ],
    ["TLS 1.1", (p: any) => (p.minimumTlsVersion = "TLS1_1"), /minimumTlsVersion to "TLS1_2"/],
    ["no minimum TLS", (p: any) => delete p.minimumTlsVersion, /minimumTlsVersion to "TLS1_2"/],
  ])("reports an account with %s", async (_, edit, message) => {
    expectOnly(await reportedWith(broken(account(), edit)), policy, account(), message);
  });

  it("accepts TLS 1.3", async () => {
    expect(await reportedWith(broken(account(), (p) => (p.minimumTlsVersion = "TLS1_3")))).toEqual(
      [],
    );
  });
});

describe("storage-archive-protection", () => {
  const policy = "storage-archive-protection";
  const account = () => only(state, STORAGE_ACCOUNT_TYPE);
  const service = () => only(state, BLOB_SERVICE_TYPE);
  const lifecycle = () => only(state, MANAGEMENT_POLICY_TYPE);
  const withState = (...subjects: PolicySubject[]) =>
    subjects.reduce((all, s) => replaced(all, s), state);

  it("reports an account without the protect option, unless the config opts out", async () => {
    const open = { ...account(), protect: false };
    const stack = withState(open);
    expectOnly(
      await reportedWith(undefined, "state", {}, stack),
      policy,
      account(),
      /must be protected/,
    );
    const optOut = { [policy]: { requireProtect: false } };
    expect(await reportedWith(undefined, "state", optOut, stack)).toEqual([]);
  });

  it.each([
    ["blob soft delete off", (p: any) => (p.deleteRetentionPolicy.enabled = false)],
    ["container soft delete missing", (p: any) => delete p.containerDeleteRetentionPolicy],
    ["a retention under a week", (p: any) => (p.deleteRetentionPolicy.days = 3)],
    ["another account", (p: any) => (p.accountName = "stother")],
  ])("reports an account whose blob service has %s", async (_, edit) => {
    const stack = withState(broken(service(), edit));
    expectOnly(
      await reportedWith(undefined, "state", {}, stack),
      policy,
      account(),
      /deleteRetentionPolicy and containerDeleteRetentionPolicy enabled for at least 7 days/,
    );
  });

  it.each([
    [
      "another prefix",
      (p: any) => (p.policy.rules[0].definition.filters.prefixMatch = ["reports/"]),
    ],
    [
      "no tiering",
      (p: any) =>
        (p.policy.rules[0].definition.actions.baseBlob = {
          delete: { daysAfterModificationGreaterThan: 90 },
        }),
    ],
    ["the rule disabled", (p: any) => (p.policy.rules[0].enabled = false)],
  ])("reports an account whose lifecycle has %s", async (_, edit) => {
    const stack = withState(broken(lifecycle(), edit));
    expectOnly(
      await reportedWith(undefined, "state", {}, stack),
      policy,
      account(),
      /prefixMatch covers "audit-raw\/"/,
    );
  });

  it("accepts a rule over the whole account and a move to Archive", async () => {
    const wide = broken(lifecycle(), (p) => {
      p.policy.rules[0].definition.filters.prefixMatch = [""];
      p.policy.rules[0].definition.actions.baseBlob = {
        tierToArchive: { daysAfterModificationGreaterThan: 90 },
      };
    });
    expect(await reportedWith(undefined, "state", {}, withState(wide))).toEqual([]);
  });

  it("links the settings through the engine's property dependencies when ARM does not echo accountName", async () => {
    const unnamed = [service(), lifecycle()].map((s) => broken(s, (p) => delete p.accountName));
    const reported = await reportedWith(undefined, "state", {}, withState(...unnamed));
    expect(reported.map((r) => r.policy)).toEqual([policy, policy]);
    const linked = unnamed.map((s) => ({
      ...s,
      propertyDependencies: { accountName: [account().urn!] },
    }));
    expect(await reportedWith(undefined, "state", {}, withState(...linked))).toEqual([]);
  });
});

describe("container-app-internal-single-pinned", () => {
  const policy = "container-app-internal-single-pinned";
  const app = () => only(inputs, CONTAINER_APP_TYPE);

  it("runs the image by the digest docker-build reports", () => {
    expect(app().props.template.containers[0].image).toMatch(
      /^[^@]+\/coe-audit-sync@sha256:[0-9a-f]{64}$/,
    );
  });

  it.each([
    [
      "external ingress",
      (p: any) => (p.configuration.ingress = { external: true, targetPort: 8080 }),
      /configuration.ingress/,
    ],
    [
      "two replicas",
      (p: any) => (p.template.scale.maxReplicas = 2),
      /maxReplicas to 1 \(found 2\)/,
    ],
    [
      "no scale (Azure's default is 10)",
      (p: any) => delete p.template.scale,
      /maxReplicas to 1 \(found nothing/,
    ],
    [
      "two minimum replicas",
      (p: any) => (p.template.scale = { minReplicas: 2, maxReplicas: 1 }),
      /minReplicas to 1 or 0 \(found 2\)/,
    ],
    [
      "a tag instead of a digest",
      (p: any) => (p.template.containers[0].image = "cr.azurecr.io/coe-audit-sync:latest"),
      /pinned by digest \(found "cr.azurecr.io\/coe-audit-sync:latest"\)/,
    ],
    [
      "a truncated digest",
      (p: any) => (p.template.containers[0].image = "cr.azurecr.io/coe-audit-sync@sha256:abc123"),
      /pinned by digest/,
    ],
    [
      "an unpinned init container",
      (p: any) => (p.template.initContainers = [{ name: "init", image: "busybox" }]),
      /container "init" must run an image pinned/,
    ],
  ])("reports an app with %s", async (_, edit, message) => {
    expectOnly(await reportedWith(broken(app(), edit)), policy, app(), message);
  });

  it.each([
    [
      "internal ingress",
      (p: any) => (p.configuration.ingress = { external: false, targetPort: 8080 }),
    ],
    ["scale to zero", (p: any) => (p.template.scale = { minReplicas: 0, maxReplicas: 1 })],
  ])("accepts %s", async (_, edit) => {
    expect(await reportedWith(broken(app(), edit))).toEqual([]);
  });
});

describe("entra-app-least-permissions", () => {
  const policy = "entra-app-least-permissions";
  const app = () => only(inputs, APPLICATION_TYPE);
  const managementEntry = () => app().props.requiredResourceAccesses[0];
  const graphEntry = {
    resourceAppId: MICROSOFT_GRAPH,
    resourceAccesses: [{ id: AUDIT_LOGS_QUERY_READ_ALL, type: "Role" }],
  };
  const withGraph = {
    "entra-app-least-permissions": {
      allowedApis: [
        { resourceAppId: OFFICE365_MANAGEMENT_APIS, maxRoles: 1 },
        { resourceAppId: MICROSOFT_GRAPH, maxRoles: 1, roleIds: [AUDIT_LOGS_QUERY_READ_ALL] },
      ],
    },
  };

  it("knows the Management APIs by the appId the program declares", () => {
    expect(OFFICE365_MANAGEMENT_APIS).toBe(OFFICE365_MANAGEMENT_APP_ID);
    expect(managementEntry().resourceAppId).toBe(OFFICE365_MANAGEMENT_APIS);
  });

  it.each([
    [
      "a delegated scope",
      (p: any) =>
        p.requiredResourceAccesses[0].resourceAccesses.push({
          id: "e1fe6dd8-ba31-4d61-89e7-88639da4683d",
          type: "Scope",
        }),
      /"Scope" permission .* only application permissions/,
    ],
    [
      "a second Management API role",
      (p: any) =>
        p.requiredResourceAccesses[0].resourceAccesses.push({
          id: "77777777-7777-7777-7777-777777777777",
          type: "Role",
        }),
      /requests 2 app roles on c5393580-f805-4401-95e8-94b7a6ef2fc2 .*at most 1/,
    ],
    [
      "the same API twice",
      (p: any) => p.requiredResourceAccesses.push(structuredClone(p.requiredResourceAccesses[0])),
      /requests 2 app roles/,
    ],
    [
      "Microsoft Graph",
      (p: any) => p.requiredResourceAccesses.push(structuredClone(graphEntry)),
      /permissions on API 00000003-0000-0000-c000-000000000000, which the audit source does not need/,
    ],
  ])("reports an app requesting %s", async (_, edit, message) => {
    expectOnly(await reportedWith(broken(app(), edit)), policy, app(), message);
  });

  it("accepts Graph's AuditLogsQuery.Read.All once the config allows it, and only that role", async () => {
    const graph = broken(app(), (p) =>
      p.requiredResourceAccesses.push(structuredClone(graphEntry)),
    );
    expect(await reportedWith(graph, "inputs", withGraph)).toEqual([]);
    const otherRole = broken(app(), (p) =>
      p.requiredResourceAccesses.push({
        resourceAppId: MICROSOFT_GRAPH,
        resourceAccesses: [{ id: "b0afded3-3588-46d8-8b3d-9842eff778da", type: "Role" }],
      }),
    );
    expectOnly(
      await reportedWith(otherRole, "inputs", withGraph),
      policy,
      app(),
      /app role b0afded3-.* not one of the allowed 5e1e9171-/,
    );
  });

  it("takes the allowed set as a parameter of the rule", () => {
    expect(checkApplicationPermissions(app(), [])).toEqual([
      expect.stringMatching(/c5393580-.*does not need/),
    ]);
    expect(
      checkApplicationPermissions(broken(app(), (p) => delete p.requiredResourceAccesses)),
    ).toEqual([]);
  });
});

describe("client-secret-lifetime", () => {
  const policy = "client-secret-lifetime";
  const password = () => only(inputs, APPLICATION_PASSWORD_TYPE);
  const start = () => Date.parse(password().props.startDate);
  const iso = (ms: number) => new Date(ms).toISOString();

  it("defaults to the program's own maximum lifetime", () => {
    expect(DEFAULT_MAX_SECRET_LIFETIME_DAYS).toBe(SECRET_LIFETIME_DAYS.max);
  });

  it("sees the dev stack's 180-day secret", () => {
    expect(Date.parse(password().props.endDate) - start()).toBe(180 * DAY);
  });

  it.each<[string, (p: any) => void, RegExp[]]>([
    ["no end date", (p) => delete p.endDate, [/must have an RFC 3339 endDate \(found none\)/]],
    [
      "an end date that is not a date",
      (p) => (p.endDate = "in two years"),
      [/must have an RFC 3339 endDate/],
    ],
    [
      "an end date 800 days away",
      (p) => {
        p.startDate = iso(Date.now());
        p.endDate = iso(Date.now() + 800 * DAY);
      },
      [/days from now; at most 730 days/, /valid for 800.0 days/],
    ],
    [
      "an 800-day lifetime that began long ago",
      (p) => {
        p.startDate = iso(Date.now() - 790 * DAY);
        p.endDate = iso(Date.now() + 10 * DAY);
      },
      [/valid for 800.0 days .* at most 730 days/],
    ],
  ])("reports a secret with %s", async (_, edit, messages) => {
    expectOnly(await reportedWith(broken(password(), edit)), policy, password(), ...messages);
  });

  it("allows one day of slack and no more", () => {
    const now = start();
    const at = (ms: number) => broken(password(), (p) => (p.endDate = iso(ms)));
    expect(checkClientSecret(at(now + 731 * DAY), { now })).toEqual([]);
    expect(checkClientSecret(at(now + 731 * DAY + 1000), { now })).toHaveLength(2);
  });

  it("applies maxSecretLifetimeDays from the policy config", async () => {
    const config = { "client-secret-lifetime": { maxSecretLifetimeDays: 90 } };
    const reported = await reportedWith(undefined, "inputs", config);
    expectOnly(
      reported,
      policy,
      password(),
      /days from now; at most 90 days are allowed/,
      /valid for 180.0 days .* at most 90 days are allowed/,
    );
  });
});

describe("role-assignment-resource-scope", () => {
  const policy = "role-assignment-resource-scope";
  const assignment = () => only(inputs, ROLE_ASSIGNMENT_TYPE);
  const subscription = () => assignment().props.scope.split("/resourceGroups/")[0];

  it("starts from a data role on one resource", () => {
    expect(Object.values(ROLES)).toContain(assignment().props.roleDefinitionId.split("/").pop());
  });

  it.each([
    ["a subscription", (p: any) => (p.scope = subscription())],
    ["a resource group", (p: any) => (p.scope = p.scope.split("/providers/")[0])],
    [
      "a resource group with a trailing slash",
      (p: any) => (p.scope = `${p.scope.split("/providers/")[0]}/`),
    ],
    [
      "a subscription-level provider",
      (p: any) =>
        (p.scope = `${subscription()}/providers/Microsoft.Authorization/roleDefinitions/x`),
    ],
    [
      "a management group",
      (p: any) => (p.scope = "/providers/Microsoft.Management/managementGroups/contoso"),
    ],
  ])("reports an assignment scoped to %s", async (_, edit) => {
    expectOnly(
      await reportedWith(broken(assignment(), edit)),
      policy,
      assignment(),
      /must be scoped to one resource/,
    );
  });

  it.each(Object.entries(PRIVILEGED_ROLES))(
    "reports an assignment of %s (%s)",
    async (guid, role) => {
      for (const id of [guid, guid.toUpperCase()]) {
        const edited = broken(
          assignment(),
          (p) => (p.roleDefinitionId = p.roleDefinitionId.replace(/[^/]+$/, id)),
        );
        expectOnly(
          await reportedWith(edited),
          policy,
          assignment(),
          new RegExp(`grants ${role} \\(${guid}\\)`),
        );
      }
    },
  );
});
