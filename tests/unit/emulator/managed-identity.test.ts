import { ManagedIdentityCredential } from "@azure/identity";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JWT_BEARER, startEmulator, type RunningEmulator } from "../../../emulator/index";
import { tokenRequest } from "./helpers";

/**
 * The emulator's stand-in for what Container Apps give a container with a user-assigned identity
 * (IDENTITY_ENDPOINT/IDENTITY_HEADER), and its token endpoint's client assertion check against
 * the app's federated identity credentials.
 */
let emu: RunningEmulator;

beforeAll(async () => {
  emu = await startEmulator({
    seed: "federation",
    tenant: { days: 1, futureDays: 0, launchesPerDay: 20 },
  });
});
afterAll(() => emu.stop());

const EXCHANGE = "api://AzureADTokenExchange";

/** GET on IDENTITY_ENDPOINT as the docs' raw HTTP example shows it. */
async function identityRequest(
  params: Record<string, string>,
  header: string | null = emu.managedIdentity.header,
): Promise<{ status: number; body: Record<string, string> }> {
  const url = `${emu.managedIdentity.endpoint}?${new URLSearchParams(params)}`;
  const res = await fetch(url, { headers: header ? { "X-IDENTITY-HEADER": header } : {} });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}

function claims(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString("utf8")) as Record<
    string,
    unknown
  >;
}

async function identityToken(resource = EXCHANGE): Promise<string> {
  const res = await identityRequest({
    resource,
    "api-version": "2019-08-01",
    client_id: emu.managedIdentity.clientId,
  });
  expect(res.status).toBe(200);
  return res.body.access_token;
}

function assertionForm(assertion: string): Record<string, string> {
  return {
    grant_type: "client_credentials",
    client_id: emu.tenant.clientId,
    client_assertion_type: JWT_BEARER,
    client_assertion: assertion,
    scope: `${emu.audience}/.default`,
  };
}

async function entraCode(
  values: Record<string, string>,
): Promise<{ status: number; code: number; description: string }> {
  const res = await tokenRequest(emu, values);
  const body = JSON.parse(res.body) as { error_codes?: number[]; error_description?: string };
  return {
    status: res.status,
    code: body.error_codes?.[0] ?? 0,
    description: body.error_description ?? "",
  };
}

describe("the managed identity endpoint (IDENTITY_ENDPOINT)", () => {
  it("serves plain HTTP on the loopback at /msi/token, like Container Apps", () => {
    expect(emu.managedIdentity.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/msi\/token$/);
  });

  it("issues a token of the user-assigned identity: subject and oid its principal id, audience the resource", async () => {
    const res = await identityRequest({
      resource: EXCHANGE,
      "api-version": "2019-08-01",
      client_id: emu.managedIdentity.clientId,
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      resource: EXCHANGE,
      token_type: "Bearer",
      client_id: emu.managedIdentity.clientId,
    });
    expect(Number(res.body.expires_on)).toBeGreaterThan(Date.now() / 1000 + 3600);
    expect(claims(res.body.access_token)).toMatchObject({
      aud: EXCHANGE,
      iss: emu.managedIdentity.issuer,
      sub: emu.managedIdentity.principalId,
      oid: emu.managedIdentity.principalId,
      tid: emu.tenant.tenantId,
    });
    // By principal id as well.
    const byPrincipal = await identityRequest({
      resource: EXCHANGE,
      "api-version": "2019-08-01",
      principal_id: emu.managedIdentity.principalId,
    });
    expect(byPrincipal.status).toBe(200);
  });

  it("refuses a missing header, an old api-version, an unknown or no identity", async () => {
    const good = {
      resource: EXCHANGE,
      "api-version": "2019-08-01",
      client_id: emu.managedIdentity.clientId,
    };
    expect((await identityRequest(good, null)).status).toBe(401);
    expect((await identityRequest(good, "not-the-header")).status).toBe(401);
    expect((await identityRequest({ ...good, "api-version": "2017-09-01" })).status).toBe(400);
    const unknown = await identityRequest({ ...good, client_id: emu.tenant.clientId });
    expect(unknown).toMatchObject({
      status: 400,
      body: { message: "Unable to load the proper Managed Identity." },
    });
    // No id: the system-assigned identity, which the container app does not have.
    const { client_id: _, ...systemAssigned } = good;
    expect((await identityRequest(systemAssigned)).status).toBe(400);
  });

  it("answers @azure/identity's ManagedIdentityCredential as Container Apps do (App Service source)", async () => {
    const saved = { endpoint: process.env.IDENTITY_ENDPOINT, header: process.env.IDENTITY_HEADER };
    process.env.IDENTITY_ENDPOINT = emu.managedIdentity.endpoint;
    process.env.IDENTITY_HEADER = emu.managedIdentity.header;
    try {
      const credential = new ManagedIdentityCredential({ clientId: emu.managedIdentity.clientId });
      const before = emu.stats().managedIdentityTokens;
      const token = await credential.getToken(`${EXCHANGE}/.default`);
      expect(claims(token.token)).toMatchObject({ sub: emu.managedIdentity.principalId });
      expect(emu.stats().managedIdentityTokens).toBe(before + 1);
    } finally {
      for (const [name, value] of [
        ["IDENTITY_ENDPOINT", saved.endpoint],
        ["IDENTITY_HEADER", saved.header],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });
});

describe("client assertions at the token endpoint", () => {
  it("trusts the identity's token through the federated credential pulumi up creates; no secret seen", async () => {
    expect(emu.federatedCredentials()).toEqual([
      {
        issuer: emu.managedIdentity.issuer,
        subject: emu.managedIdentity.principalId,
        audience: EXCHANGE,
      },
    ]);
    const secretsBefore = emu.stats().clientSecretsSeen;
    const res = await tokenRequest(emu, assertionForm(await identityToken()));
    expect(res.status).toBe(200);
    const token = (JSON.parse(res.body) as { access_token: string }).access_token;
    expect(claims(token)).toMatchObject({ aud: emu.audience, appid: emu.tenant.clientId });
    expect(emu.stats().clientSecretsSeen).toBe(secretsBefore);
  });

  it("counts every client secret it is sent, right or wrong", async () => {
    const before = emu.stats().clientSecretsSeen;
    await tokenRequest(emu, {
      ...assertionForm(await identityToken()),
      client_secret: "whatever-it-is",
    });
    expect(emu.stats().clientSecretsSeen).toBe(before + 1);
  });

  it("answers each mismatch with Entra's own code, never echoing the assertion", async () => {
    const assertion = await identityToken();
    const deployed = emu.federatedCredentials()[0];
    try {
      emu.setFederatedCredentials([]);
      const none = await entraCode(assertionForm(assertion));
      expect(none).toMatchObject({ status: 400, code: 70021 });
      expect(none.description).toContain(`Assertion Subject: '${emu.managedIdentity.principalId}'`);
      expect(none.description).not.toContain(assertion);

      emu.setFederatedCredentials([
        { ...deployed, issuer: "https://token.actions.githubusercontent.com" },
      ]);
      expect((await entraCode(assertionForm(assertion))).code).toBe(700211);
      emu.setFederatedCredentials([{ ...deployed, audience: "api://AzureADTokenExchangeUSGov" }]);
      expect((await entraCode(assertionForm(assertion))).code).toBe(700212);
      emu.setFederatedCredentials([{ ...deployed, subject: emu.managedIdentity.clientId }]);
      expect((await entraCode(assertionForm(assertion))).code).toBe(700213);

      // A token for another audience matches no credential's audience either.
      emu.setFederatedCredentials([deployed]);
      const otherAudience = await identityToken("api://AzureADTokenExchangeUSGov");
      expect((await entraCode(assertionForm(otherAudience))).code).toBe(700212);
      // A forged assertion fails its signature.
      const forged = `${assertion.split(".").slice(0, 2).join(".")}.AAAA`;
      expect((await entraCode(assertionForm(forged))).code).toBe(700027);
      // Without its type, the assertion is not read at all.
      const { client_assertion_type: _, ...untyped } = assertionForm(assertion);
      expect((await entraCode(untyped)).code).toBe(900144);
    } finally {
      emu.setFederatedCredentials([deployed]);
    }
  });

  it("answers AADSTS70021 while a new credential propagates, then accepts it", async () => {
    const assertion = await identityToken();
    emu.setFederatedCredentials(emu.federatedCredentials(), { propagationRequests: 2 });
    expect((await entraCode(assertionForm(assertion))).code).toBe(70021);
    expect((await entraCode(assertionForm(assertion))).code).toBe(70021);
    expect((await tokenRequest(emu, assertionForm(assertion))).status).toBe(200);
  });
});

describe("federated credentials given as options", () => {
  it("starts with none, or with a wrong one, when told", async () => {
    const bare = await startEmulator({
      seed: "federation",
      tenant: { days: 1, futureDays: 0, launchesPerDay: 20 },
      federatedCredentials: [],
    });
    const wrongSubject = await startEmulator({
      seed: "federation",
      tenant: { days: 1, futureDays: 0, launchesPerDay: 20 },
      federatedCredentials: [{ subject: "00000000-0000-4000-8000-000000000000" }],
    });
    try {
      expect(bare.federatedCredentials()).toEqual([]);
      expect(wrongSubject.federatedCredentials()).toEqual([
        {
          issuer: wrongSubject.managedIdentity.issuer,
          subject: "00000000-0000-4000-8000-000000000000",
          audience: EXCHANGE,
        },
      ]);
    } finally {
      await Promise.all([bare.stop(), wrongSubject.stop()]);
    }
  });
});
