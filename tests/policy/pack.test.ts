import { readFileSync } from "node:fs";
import { describe, expect, it, vi } from "vitest";
import type { PolicyPackArgs } from "@pulumi/policy";

// The real PolicyPack starts the analyzer's gRPC server at construction (server.js serve()),
// which only the engine talks to; analyzer.test.ts runs it that way. Here the constructor is
// recorded instead, to check what index.ts registers.
const constructed = vi.hoisted(() => [] as { name: string; args: PolicyPackArgs }[]);
vi.mock("@pulumi/policy", async (importOriginal) => ({
  ...(await importOriginal<typeof import("@pulumi/policy")>()),
  PolicyPack: class {
    constructor(name: string, args: PolicyPackArgs) {
      constructed.push({ name, args });
    }
  },
}));

const RULES = [
  "key-vault-rbac-and-purge-protection",
  "key-vault-audit-logs",
  "storage-entra-only-tls12",
  "storage-archive-protection",
  "container-app-internal-single-pinned",
  "entra-app-least-permissions",
  "client-secret-lifetime",
  "role-assignment-resource-scope",
];

describe("policy/index.ts", () => {
  it("registers one mandatory PolicyPack coe-audit-sync with every rule", async () => {
    const { policies } = await import("../../policy/policies");
    await import("../../policy/index");
    expect(constructed.map((c) => c.name)).toEqual(["coe-audit-sync"]);
    const { args } = constructed[0]!;
    expect(args.enforcementLevel).toBe("mandatory");
    expect(args.policies).toBe(policies);
    expect(args.policies.map((p) => p.name)).toEqual(RULES);
    for (const policy of args.policies) {
      expect(policy.enforcementLevel, policy.name).toBe("mandatory");
      expect(policy.description, policy.name).not.toBe("");
    }
  });

  it("makes the Key Vault audit rule a stack policy and the others resource policies", async () => {
    const { policies } = await import("../../policy/policies");
    const kinds = Object.fromEntries(
      policies.map((p) => [p.name, "validateStack" in p ? "stack" : "resource"]),
    );
    expect(kinds).toEqual(
      Object.fromEntries(
        RULES.map((r) => [
          r,
          ["key-vault-audit-logs", "storage-archive-protection"].includes(r) ? "stack" : "resource",
        ]),
      ),
    );
  });

  it("documents every rule and its config in policy/README.md", () => {
    const readme = readFileSync(new URL("../../policy/README.md", import.meta.url), "utf8");
    for (const name of [...RULES, "maxSecretLifetimeDays", "allowedApis", "requireProtect"]) {
      expect(readme, name).toContain(name);
    }
  });
});
