import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
import {
  REPO_ROOT,
  acrBuildCommand,
  buildContextFiles,
  parseDigest,
  registryName,
  runtimeSourceHash,
} from "../../components/sync-image";
import { registryHostOf } from "../../components/config";
import {
  MAX_WINDOW_MINUTES,
  alertRules,
  eventFilter,
  isoMinutes,
  kqlString,
} from "../../components/sync-alerts";
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

describe("alert rules", () => {
  const AT = "2026-12-01T00:00:00Z";

  it("reports no completed pass only once the window has passed since the rules exist", () => {
    const query = byKey(60)["no-pass"]!.query({ appName: "app", createdAt: AT });
    expect(query).toContain(`| where ${eventFilter("pass.completed")}`);
    expect(query).toContain("| summarize completed = count()");
    expect(query).toContain(`| where completed == 0 and now() > datetime(${AT}) + 180m`);
  });

  const byKey = (interval: number, withSecret = true) =>
    Object.fromEntries(alertRules(interval, withSecret).map((r) => [r.key, r]));

  it("writes ISO 8601 durations Azure Monitor accepts", () => {
    expect(isoMinutes(15)).toBe("PT15M");
    expect(isoMinutes(180)).toBe("PT3H");
    expect(isoMinutes(2880)).toBe("P2D");
    expect(isoMinutes(90)).toBe("PT90M");
  });

  it("looks back 3 intervals for a completed pass, at most 2 days", () => {
    expect(byKey(60)["no-pass"]!.windowSize).toBe("PT3H");
    expect(byKey(5)["no-pass"]!.windowSize).toBe("PT15M");
    expect(byKey(1440)["no-pass"]!.windowSize).toBe(isoMinutes(MAX_WINDOW_MINUTES));
    // Never shorter than two intervals, so a stack whose passes complete never fires it.
    for (const interval of [5, 60, 600, 960, 1440]) {
      const window = Math.min(3 * interval, MAX_WINDOW_MINUTES);
      expect(window).toBeGreaterThanOrEqual(2 * interval);
    }
  });

  it("fires on three failed outcomes only, counting completed passes as outcomes", () => {
    const query = byKey(60)["passes-failing"]!.query({ appName: "app", createdAt: AT });
    expect(query).toContain(`${eventFilter("pass.completed")} or ${eventFilter("pass.failed")}`);
    expect(query).toContain("| top 3 by TimeGenerated desc");
    expect(query).toContain("| where outcomes == 3 and failures == 3");
  });

  it("keeps the queries valid before the Container App tables exist", () => {
    for (const rule of alertRules(60, false)) {
      expect(rule.query({ appName: "app", createdAt: AT }), rule.key).toMatch(
        /^union isfuzzy=true \(datatable\(/,
      );
    }
  });

  it("quotes the app name as a KQL string", () => {
    expect(kqlString("it's")).toBe("'it\\'s'");
    expect(kqlString("a\\b")).toBe("'a\\\\b'");
    expect(byKey(60)["gap"]!.query({ appName: "sync-app1", createdAt: AT })).toContain(
      "| where ContainerAppName_s == 'sync-app1'",
    );
  });

  it("adds the secret-expiry rule only for a stack that keeps a secret", () => {
    expect(byKey(60, false)["secret-expiry"]).toBeUndefined();
    const rule = byKey(60)["secret-expiry"]!;
    expect(rule.query({ appName: "x", secretEndDate: "2027-05-24T14:00:00Z", createdAt: AT })).toBe(
      "print expiresAt = datetime(2027-05-24T14:00:00Z)\n| where expiresAt < now() + 14d",
    );
    expect(rule.evaluationFrequency).toBe("P1D");
  });
});

describe("the image build in the registry", () => {
  function fixture(): string {
    const root = mkdtempSync(join(tmpdir(), "coe-build-context-"));
    for (const file of ["package.json", "package-lock.json", "tsconfig.json", "README.md"]) {
      writeFileSync(join(root, file), `${file}\n`);
    }
    mkdirSync(join(root, "sync-runtime", "src"), { recursive: true });
    mkdirSync(join(root, "sync-runtime", "node_modules", "x"), { recursive: true });
    writeFileSync(join(root, "sync-runtime", "Dockerfile"), "FROM node\n");
    writeFileSync(join(root, "sync-runtime", "src", "main.ts"), "export {};\n");
    writeFileSync(join(root, "sync-runtime", "node_modules", "x", "index.js"), "1\n");
    return root;
  }

  it("hashes what the image build reads, and nothing else", () => {
    const root = fixture();
    try {
      expect(buildContextFiles(root)).toEqual([
        "package-lock.json",
        "package.json",
        "sync-runtime/Dockerfile",
        "sync-runtime/src/main.ts",
        "tsconfig.json",
      ]);
      const before = runtimeSourceHash(root);
      // Outside the context, or in node_modules: no rebuild.
      writeFileSync(join(root, "README.md"), "changed\n");
      writeFileSync(join(root, "sync-runtime", "node_modules", "x", "index.js"), "2\n");
      expect(runtimeSourceHash(root)).toBe(before);
      // A source change: a rebuild.
      writeFileSync(join(root, "sync-runtime", "src", "main.ts"), "export const x = 1;\n");
      const after = runtimeSourceHash(root);
      expect(after).not.toBe(before);
      expect(after).toMatch(/^[0-9a-f]{64}$/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("sends az acr build the same context as the local build (root .dockerignore)", () => {
    const rules = (file: string) =>
      readFileSync(join(REPO_ROOT, file), "utf8")
        .split(/\r?\n/)
        .filter((line) => line.trim() !== "" && !line.startsWith("#"));
    expect(rules(".dockerignore")).toEqual(rules("sync-runtime/Dockerfile.dockerignore"));
  });

  it("builds with az only, its log on stderr, and reads the digest back", () => {
    const cmd = acrBuildCommand({
      registry: "crdev1",
      resourceGroup: "rg1",
      subscriptionId: "11111111-1111-1111-1111-111111111111",
      tag: "0123456789abcdef",
    });
    expect(cmd).toBe(
      "az acr build --registry crdev1 --resource-group rg1 --subscription 11111111-1111-1111-1111-111111111111 " +
        "--image coe-audit-sync:0123456789abcdef --file sync-runtime/Dockerfile --platform linux/amd64 . 1>&2 && " +
        "az acr repository show --name crdev1 --subscription 11111111-1111-1111-1111-111111111111 " +
        "--image coe-audit-sync:0123456789abcdef --query digest --output tsv",
    );
  });

  it("accepts a digest only, and says what to check otherwise", () => {
    const digest = `sha256:${"0".repeat(64)}`;
    expect(parseDigest(`${digest}\r\n`, "crdev1")).toBe(digest);
    expect(() => parseDigest("", "crdev1")).toThrow(/reported no digest.*az account show/);
    expect(() => parseDigest("ERROR: The resource could not be found", "crdev1")).toThrow(/crdev1/);
  });

  it("finds the registry host of an image reference", () => {
    expect(registryHostOf("contoso.azurecr.us/coe-audit-sync@sha256:abc")).toBe(
      "contoso.azurecr.us",
    );
    expect(registryHostOf("localhost:5000/x:1")).toBe("localhost:5000");
    expect(registryHostOf("library/node:22")).toBeUndefined();
    expect(registryHostOf("node")).toBeUndefined();
  });
});
