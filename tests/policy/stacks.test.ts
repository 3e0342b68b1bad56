import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { policies } from "../../policy/policies";
import { APPLICATION_PASSWORD_TYPE } from "../../policy/rules/client-secret";
import { CONTAINER_APP_TYPE } from "../../policy/rules/container-app";
import { APPLICATION_TYPE } from "../../policy/rules/entra-app";
import { KEY_VAULT_TYPE } from "../../policy/rules/key-vault";
import type { PolicySubject } from "../../policy/rules/resource";
import { ROLE_ASSIGNMENT_TYPE } from "../../policy/rules/role-assignment";
import { STORAGE_ACCOUNT_TYPE } from "../../policy/rules/storage";
import { STACK_FILES, readStackConfig } from "../pulumi/stack-files";
import { runPolicies, type Reported } from "./harness";
import {
  recordProgram,
  startTrustedFakeAcr,
  subjectsOf,
  type TrustedFakeAcr,
} from "./program-resources";

/** The resource types each policy is about: the example stacks must have some of each. */
const SUBJECT_TYPES: Record<string, readonly string[]> = {
  "key-vault-rbac-and-purge-protection": [KEY_VAULT_TYPE],
  "key-vault-audit-logs": [KEY_VAULT_TYPE],
  "storage-entra-only-tls12": [STORAGE_ACCOUNT_TYPE],
  "storage-archive-protection": [STORAGE_ACCOUNT_TYPE],
  "container-app-internal-single-pinned": [CONTAINER_APP_TYPE],
  "entra-app-least-permissions": [APPLICATION_TYPE],
  "client-secret-lifetime": [APPLICATION_PASSWORD_TYPE],
  "role-assignment-resource-scope": [ROLE_ASSIGNMENT_TYPE],
};

let fake: TrustedFakeAcr;
beforeAll(async () => {
  fake = await startTrustedFakeAcr();
});
afterAll(async () => {
  await fake?.stop();
});

it("knows the subject types of every policy in the pack", () => {
  expect(Object.keys(SUBJECT_TYPES).sort()).toEqual(policies.map((p) => p.name).sort());
});

describe.each(Object.entries(STACK_FILES))("example stack %s (%s)", (stack, file) => {
  let inputs: PolicySubject[];
  let state: PolicySubject[];
  let reported: Reported[];

  beforeAll(async () => {
    const mocks = await recordProgram(stack, readStackConfig(file), fake.acr);
    inputs = subjectsOf(mocks, "inputs", stack);
    state = subjectsOf(mocks, "state", stack);
    reported = await runPolicies(policies, inputs, state);
  });

  it.each(policies.map((p) => p.name))("has resources for %s to check", (policy) => {
    const types = SUBJECT_TYPES[policy]!;
    expect(inputs.filter((r) => types.includes(r.type)).length).toBeGreaterThan(0);
  });

  it.each(policies.map((p) => p.name))("passes %s", (policy) => {
    expect(reported.filter((r) => r.policy === policy).map((r) => r.message)).toEqual([]);
  });
});

/**
 * `source: both` gives the app a second API (Microsoft Graph). The default pack allows only the
 * Management APIs, so it must flag Graph; the documented allowedApis with Graph must pass it.
 */
describe("the program with source both", () => {
  let inputs: PolicySubject[];
  let state: PolicySubject[];
  beforeAll(async () => {
    const config = { ...readStackConfig(STACK_FILES.dev), "coe-audit-sync:source": "both" };
    const mocks = await recordProgram("both", config, fake.acr);
    inputs = subjectsOf(mocks, "inputs", "both");
    state = subjectsOf(mocks, "state", "both");
  });

  it("is flagged by the default allowedApis and passes with Microsoft Graph allowed", async () => {
    const least = policies.filter((p) => p.name === "entra-app-least-permissions");
    const strict = await runPolicies(least, inputs, state);
    expect(strict.map((r) => r.message)).toEqual([
      expect.stringMatching(/00000003-0000-0000-c000-000000000000/),
    ]);
    const allowed = await runPolicies(least, inputs, state, {
      "entra-app-least-permissions": {
        allowedApis: [
          { resourceAppId: "c5393580-f805-4401-95e8-94b7a6ef2fc2", maxRoles: 1 },
          { resourceAppId: "00000003-0000-0000-c000-000000000000", maxRoles: 1 },
        ],
      },
    });
    expect(allowed).toEqual([]);
    // Every other policy of the pack passes it unchanged.
    const others = await runPolicies(
      policies.filter((p) => p.name !== "entra-app-least-permissions"),
      inputs,
      state,
    );
    expect(others.map((r) => `${r.policy}: ${r.message}`)).toEqual([]);
  });
});
