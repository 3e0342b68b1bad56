import { describe, expect, it } from "vitest";
import { CLOUDS } from "../../components/clouds";
import {
  ConfigError,
  ignoredProviderKeys,
  parseStackSettings,
  type ConfigReader,
} from "../../components/config";

function reader(values: Record<string, string>): ConfigReader {
  return (key) => values[key];
}

const minimal = { "azure-native:location": "eastus" };

function failure(values: Record<string, string>): ConfigError {
  try {
    parseStackSettings(reader(values));
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("parseStackSettings", () => {
  it("applies the documented defaults", () => {
    const settings = parseStackSettings(reader(minimal));
    expect(settings).toMatchObject({
      cloud: CLOUDS.commercial,
      location: "eastus",
      appDisplayName: "Microsoft 365 Management",
      secretLifetimeDays: 180,
      contentTypes: ["Audit.General"],
      syncIntervalMinutes: 60,
      syncImage: undefined,
      appOwners: [],
      grantDataverseKeyVaultAccess: false,
      runtimeCredential: "federated",
      clientSecret: true,
      protectArchive: true,
      softDeleteDays: 14,
      archiveCoolDays: 30,
      archiveRetentionDays: undefined,
      alertEmails: [],
      imageBuild: "acr",
      syncImageRegistry: undefined,
      firstRunHours: 168,
      graphBackfillDays: 30,
    });
  });

  it("refuses a runtime secret the stack does not create, and a Dataverse grant on no secret", () => {
    const secret = failure({ ...minimal, runtimeCredential: "secret", clientSecret: "false" });
    expect(secret.key).toBe("runtimeCredential");
    expect(secret.message).toContain("pulumi config set runtimeCredential federated");
    const grant = failure({
      ...minimal,
      clientSecret: "false",
      grantDataverseKeyVaultAccess: "true",
    });
    expect(grant.key).toBe("grantDataverseKeyVaultAccess");
    expect(grant.message).toContain("pulumi config set grantDataverseKeyVaultAccess false");
    expect(parseStackSettings(reader({ ...minimal, clientSecret: "false" })).clientSecret).toBe(
      false,
    );
  });

  it("treats the empty defaults Pulumi.yaml passes as unset", () => {
    const settings = parseStackSettings(reader({ ...minimal, syncImage: "", appOwners: "" }));
    expect(settings.syncImage).toBeUndefined();
    expect(settings.appOwners).toEqual([]);
  });

  it("reads lists as comma lists or JSON arrays, de-duplicating content types", () => {
    const owner = "abcdefab-1234-4abc-8def-0123456789ab";
    const settings = parseStackSettings(
      reader({
        ...minimal,
        contentTypes: "Audit.General, DLP.All,Audit.General",
        appOwners: JSON.stringify([owner]),
      }),
    );
    expect(settings.contentTypes).toEqual(["Audit.General", "DLP.All"]);
    expect(settings.appOwners).toEqual([owner]);
  });

  it("names key, value, allowed values and the fixing command for a wrong cloud", () => {
    const error = failure({ ...minimal, cloud: "gcc-high" });
    expect(error.key).toBe("cloud");
    expect(error.message).toBe(
      'Invalid stack config "cloud": "gcc-high". Allowed: commercial | gcc | gcchigh | dod. ' +
        "Fix it with: pulumi config set cloud gcchigh",
    );
  });

  it("requires azure-native:location and says how to set it", () => {
    const error = failure({});
    expect(error.key).toBe("azure-native:location");
    expect(error.message).toContain("(not set)");
    expect(error.message).toContain("pulumi config set azure-native:location eastus");
  });

  it("rejects a public region for a government cloud and the reverse", () => {
    const gov = failure({ cloud: "gcchigh", "azure-native:location": "eastus" });
    expect(gov.message).toContain("Azure Government region");
    expect(gov.message).toContain("pulumi config set azure-native:location usgovvirginia");
    const pub = failure({ cloud: "gcc", "azure-native:location": "usgovvirginia" });
    expect(pub.message).toContain("public Azure region");
  });

  it.each([
    ["secretLifetimeDays", "0", "an integer from 7 to 730"],
    ["secretLifetimeDays", "731", "an integer from 7 to 730"],
    ["secretLifetimeDays", "90.5", "an integer from 7 to 730"],
    ["secretLifetimeDays", "six months", "an integer from 7 to 730"],
    ["syncIntervalMinutes", "1", "an integer from 5 to 1440"],
    ["contentTypes", "Audit.General,Audit.PowerApps", "Audit.AzureActiveDirectory"],
    ["contentTypes", " , ", "Audit.General"],
    ["appOwners", "alice@contoso.com", "Entra object ids"],
    ["grantDataverseKeyVaultAccess", "yes", "true | false"],
    ["runtimeCredential", "managedIdentity", "secret | federated"],
    ["protectArchive", "yes", "true | false"],
    ["alertEmails", "admin", "email addresses"],
    ["imageBuild", "docker", "acr | local"],
    ["firstRunHours", "169", "an integer from 1 to 168"],
    ["graphBackfillDays", "181", "an integer from 1 to 180"],
    ["syncImageRegistry", "contosoimages", "resource id of the Azure Container Registry"],
    ["alertEmails", "a@contoso.com;b@contoso.com", "email addresses"],
    ["softDeleteDays", "0", "an integer from 1 to 365"],
    ["archiveCoolDays", "-1", "an integer from 0 to 36500"],
    ["archiveRetentionDays", "forever", "never (the default)"],
    ["archiveRetentionDays", "30", "more than archiveCoolDays (30)"],
    ["clientSecret", "no", "true | false"],
    [
      "dataverseUrl",
      "https://contoso.crm9.dynamics.com",
      "CoE environment in the commercial cloud",
    ],
    ["dataverseUrl", "https://contoso.crm.dynamics.com/api/data/v9.2", "crm.dynamics.com"],
    ["dataverseUrl", "contoso", "Environment URL"],
    ["syncImage", "my image:latest", "image reference"],
    ["appDisplayName", "   ", "1 to 120 characters"],
    ["azure-native:subscriptionId", "my-subscription", "subscription GUID"],
  ])("rejects %s=%j with the allowed values", (key, value, allowed) => {
    const error = failure({ ...minimal, [key]: value });
    expect(error.key).toBe(key);
    expect(error.message).toContain(JSON.stringify(value));
    expect(error.message).toContain(allowed);
    expect(error.message).toMatch(/Fix it with: pulumi config (set|rm) /);
  });
});

describe("syncImageRegistry", () => {
  const id =
    "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/images/providers/Microsoft.ContainerRegistry/registries/contoso";
  it("needs a syncImage in a registry to pull from", () => {
    expect(failure({ ...minimal, syncImageRegistry: id }).key).toBe("syncImageRegistry");
    const settings = parseStackSettings(
      reader({
        ...minimal,
        syncImageRegistry: id,
        syncImage: "contoso.azurecr.io/coe-audit-sync:1",
      }),
    );
    expect(settings.syncImageRegistry).toBe(id);
  });
});

describe("dataverseUrl", () => {
  it.each([
    ["commercial", "https://contoso.crm4.dynamics.com/"],
    ["gcc", "https://contoso.crm9.dynamics.com"],
    ["gcchigh", "https://contoso.crm.microsoftdynamics.us"],
    ["dod", "https://contoso.crm.appsplatform.us"],
  ])("accepts a %s environment on that cloud's domain only", (cloud, url) => {
    const location = (c: string) => (c === "gcchigh" || c === "dod" ? "usgovvirginia" : "eastus");
    const values = { "azure-native:location": location(cloud), cloud, dataverseUrl: url };
    expect(parseStackSettings(reader(values)).dataverseUrl).toBe(new URL(url).origin);
    const other = cloud === "commercial" ? "gcchigh" : "commercial";
    const moved = { ...values, cloud: other, "azure-native:location": location(other) };
    expect(failure(moved).key).toBe("dataverseUrl");
  });
});

describe("ignoredProviderKeys", () => {
  it("names the provider keys the explicit providers do not read, and only those", () => {
    expect(
      ignoredProviderKeys([
        "azure-native:location",
        "azure-native:subscriptionId",
        "azure-native:clientId",
        "azuread:tenantId",
        "coe-audit-sync:cloud",
        "aws:region",
      ]),
    ).toEqual(["azure-native:clientId", "azuread:tenantId"]);
  });
});

describe("Azure Government regions", () => {
  it("refuses a government region without Container Apps, naming the ones that have it", () => {
    for (const cloud of ["gcchigh", "dod"]) {
      const error = failure({ cloud, "azure-native:location": "usdodeast" });
      expect(error.key).toBe("azure-native:location");
      expect(error.message).toContain("usgovvirginia");
      expect(error.message).toContain("pulumi config set azure-native:location usgovvirginia");
    }
    expect(
      parseStackSettings(reader({ cloud: "dod", "azure-native:location": "usgovvirginia" }))
        .location,
    ).toBe("usgovvirginia");
  });
});
