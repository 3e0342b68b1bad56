import { describe, expect, it } from "vitest";
import {
  findAppRoleId,
  rotationDaysFor,
  secretEndDate,
} from "../../components/audit-app-registration";
import {
  dataverseSecretReference,
  keyVaultName,
  secretVersionOf,
} from "../../components/audit-key-vault";
import { storageAccountName } from "../../components/audit-storage";
import { CLOUDS, isGovernmentRegion } from "../../components/clouds";
import { roleDefinitionId, subscriptionIdOf } from "../../components/roles";
import { registryName } from "../../components/sync-image";
import { VARIABLES } from "../../sync-runtime/src/app/config";

describe("cloud profiles", () => {
  // The runtime documents each cloud's endpoints for people who run it by hand (its --help and
  // docs/configuration.md come from this text); the program's profiles must say the same.
  const runtimeDocs = (name: string) => VARIABLES.find((v) => v.name === name)!;
  /** "GCC: url, GCC High: url" and "GCC High/DoD: url" in a description, by cloud label. */
  const documented = (name: string, label: string): string | undefined => {
    const v = runtimeDocs(name);
    if (label === "commercial") return v.default;
    for (const m of v.description.matchAll(
      /([A-Za-z][A-Za-z /]*?): (https:\/\/[a-z0-9.-]*[a-z0-9])/g,
    )) {
      const labels = m[1].split("/").map((l) => l.replace(/^.*\. /, "").trim());
      if (labels.includes(label)) return m[2];
    }
    return undefined;
  };
  const LABELS = { commercial: "commercial", gcc: "GCC", gcchigh: "GCC High", dod: "DoD" } as const;

  it("use the audience and authority the runtime documents for each cloud", () => {
    for (const cloud of Object.values(CLOUDS)) {
      const label = LABELS[cloud.name];
      expect(cloud.audience, cloud.name).toBe(documented("AUDIT_AUDIENCE", label));
      const authority =
        documented("AUDIT_AUTHORITY", label) ?? runtimeDocs("AUDIT_AUTHORITY").default;
      expect(cloud.authority, cloud.name).toBe(authority);
    }
  });

  it("keep each cloud's Entra, Azure and region choices consistent", () => {
    for (const cloud of Object.values(CLOUDS)) {
      const government = cloud.authority === "https://login.microsoftonline.us";
      expect(cloud.governmentRegionsOnly, cloud.name).toBe(government);
      expect(cloud.azureNativeEnvironment, cloud.name).toBe(government ? "usgovernment" : "public");
      expect(cloud.azureadEnvironment === "global", cloud.name).toBe(!government);
      expect(cloud.audience, cloud.name).toMatch(/^https:\/\/[a-z0-9.-]+$/);
    }
    // L4 (GCC High) and L5 (DoD) are different Entra national clouds for the azuread provider.
    expect(CLOUDS.gcchigh.azureadEnvironment).toBe("usgovernmentl4");
    expect(CLOUDS.dod.azureadEnvironment).toBe("usgovernmentl5");
  });

  it("recognise Azure Government regions", () => {
    expect(["usgovvirginia", "usgovarizona", "usdodeast"].every(isGovernmentRegion)).toBe(true);
    expect(["eastus", "westeurope", "australiaeast"].some(isGovernmentRegion)).toBe(false);
  });
});

describe("Key Vault naming", () => {
  const valid = /^[a-z][a-z0-9-]{1,22}[a-z0-9]$/;

  it("fits 24 characters and Key Vault's character rules, even for long stack names", () => {
    for (const stack of ["dev", "contoso-gcchigh-production-west", "A_B", "", "---", "9lives"]) {
      const name = keyVaultName(stack, "rg-seed");
      expect(name.length, name).toBeLessThanOrEqual(24);
      expect(name, name).toMatch(valid);
      expect(name, name).not.toContain("--");
    }
  });

  it("changes with the seed, so a redeployment never reuses a soft-deleted name", () => {
    expect(keyVaultName("dev", "coe-audit-synca1b2c3d4")).not.toBe(
      keyVaultName("dev", "coe-audit-sync9f8e7d6c"),
    );
    expect(keyVaultName("dev", "same")).toBe(keyVaultName("dev", "same"));
  });

  it("builds the Dataverse reference from the vault id and refuses anything else", () => {
    const vaultId =
      "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv-dev-12345678";
    expect(dataverseSecretReference(vaultId, "audit-client-secret")).toBe(
      `${vaultId}/secrets/audit-client-secret`,
    );
    expect(() => dataverseSecretReference("https://kv.vault.azure.net/", "x")).toThrow(
      /Not a Key Vault resource id/,
    );
  });

  it("reads the version from a versioned secret URI", () => {
    expect(
      secretVersionOf("https://kv.vault.usgovcloudapi.net/secrets/audit-client-secret/abc123"),
    ).toBe("abc123");
    expect(() =>
      secretVersionOf("https://kv.vault.azure.net/secrets/audit-client-secret"),
    ).toThrow();
  });
});

describe("storage and registry naming", () => {
  it("keeps storage account names to 3-24 lowercase letters and digits", () => {
    for (const stack of ["dev", "Contoso-GCCHigh-Production", ""]) {
      expect(storageAccountName(stack, "seed")).toMatch(/^[a-z0-9]{3,24}$/);
    }
  });

  it("keeps registry names to 5-50 letters and digits", () => {
    for (const stack of ["dev", "x".repeat(80), ""]) {
      expect(registryName(stack, "seed")).toMatch(/^[a-zA-Z0-9]{5,50}$/);
    }
  });
});

describe("client secret lifetime", () => {
  it("ends the secret exactly lifetime days after its start, RFC 3339 without milliseconds", () => {
    expect(secretEndDate("2026-11-25T14:00:00Z", 180)).toBe("2027-05-24T14:00:00Z");
    expect(() => secretEndDate("tomorrow", 10)).toThrow(/RFC 3339/);
  });

  it("rotates before the end, leaving a window to run pulumi up --refresh", () => {
    expect(rotationDaysFor(180)).toBe(150);
    expect(rotationDaysFor(730)).toBe(700);
    expect(rotationDaysFor(7)).toBe(4);
    for (let days = 7; days <= 730; days++) {
      expect(rotationDaysFor(days)).toBeGreaterThan(0);
      expect(rotationDaysFor(days)).toBeLessThan(days);
    }
  });
});

describe("app role lookup", () => {
  const roles = [
    { id: "a", value: "ActivityFeed.ReadDlp" },
    { id: "b", value: "ActivityFeed.Read" },
  ];

  it("finds the role by its exact value", () => {
    expect(findAppRoleId(roles, "ActivityFeed.Read")).toBe("b");
  });

  it("explains a missing role instead of returning nothing", () => {
    expect(() => findAppRoleId([], "ActivityFeed.Read")).toThrow(/no app role "ActivityFeed.Read"/);
  });
});

describe("role definition ids", () => {
  it("use the subscription of the scope", () => {
    const scope =
      "/subscriptions/1234/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st";
    expect(subscriptionIdOf(scope)).toBe("1234");
    expect(roleDefinitionId(scope, "role-guid")).toBe(
      "/subscriptions/1234/providers/Microsoft.Authorization/roleDefinitions/role-guid",
    );
    expect(() => subscriptionIdOf("not-an-id")).toThrow();
  });
});
