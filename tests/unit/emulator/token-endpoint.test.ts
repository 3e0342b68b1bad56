import { spawn } from "node:child_process";
import { ConfidentialClientApplication } from "@azure/msal-node";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startEmulator, type RunningEmulator } from "../../../emulator/index";
import { MANAGEMENT_API_APP_ID } from "../../../emulator/token-endpoint";
import {
  credentials,
  errorCode,
  feedUrl,
  getToken,
  msalNetworkClient,
  send,
  tokenRequest,
} from "./helpers";

let emu: RunningEmulator;

beforeAll(async () => {
  emu = await startEmulator({
    seed: "tokens",
    tenant: { days: 1, futureDays: 0, launchesPerDay: 20 },
  });
});
afterAll(() => emu.stop());

function entra(res: { status: number; body: string }) {
  const body = JSON.parse(res.body) as {
    error: string;
    error_description: string;
    error_codes: number[];
  };
  return {
    status: res.status,
    error: body.error,
    code: body.error_codes[0],
    description: body.error_description,
  };
}

async function subscriptionsList(token: string, tenantId = emu.tenant.tenantId) {
  const url = feedUrl(emu, "subscriptions/list").replace(emu.tenant.tenantId, tenantId);
  return send(emu.caCertPem, "GET", url, { headers: { Authorization: `Bearer ${token}` } });
}

describe("discovery documents", () => {
  it("serves the v2 OpenID configuration msal-node reads, pointing at this origin", async () => {
    const res = await send(
      emu.caCertPem,
      "GET",
      `${emu.authority}/${emu.tenant.tenantId}/v2.0/.well-known/openid-configuration`,
    );
    expect(res.status).toBe(200);
    const doc = JSON.parse(res.body) as Record<string, string>;
    expect(doc.token_endpoint).toBe(`${emu.url}/${emu.tenant.tenantId}/oauth2/v2.0/token`);
    for (const key of ["authorization_endpoint", "issuer", "jwks_uri"])
      expect(doc[key].startsWith(emu.url)).toBe(true);
  });

  it("answers AADSTS90002 for an unknown tenant", async () => {
    const res = await send(
      emu.caCertPem,
      "GET",
      `${emu.authority}/11111111-1111-1111-1111-111111111111/v2.0/.well-known/openid-configuration`,
    );
    expect(entra(res)).toMatchObject({ status: 400, error: "invalid_request", code: 90002 });
  });

  it("answers instance discovery with its own host as the only alias", async () => {
    const res = await send(
      emu.caCertPem,
      "GET",
      `${emu.authority}/common/discovery/instance?api-version=1.1`,
    );
    const host = new URL(emu.url).host;
    expect(JSON.parse(res.body).metadata).toEqual([
      { preferred_network: host, preferred_cache: host, aliases: [host] },
    ]);
  });
});

describe("client credentials with @azure/msal-node", () => {
  it("acquires a token through knownAuthorities and a CA-trusting network client, and the API accepts it", async () => {
    const app = new ConfidentialClientApplication({
      auth: {
        clientId: emu.tenant.clientId,
        clientSecret: emu.tenant.clientSecret,
        authority: `${emu.authority}/${emu.tenant.tenantId}`,
        knownAuthorities: [new URL(emu.url).host],
      },
      system: { networkClient: msalNetworkClient(emu.caCertPem) },
    });
    const result = await app.acquireTokenByClientCredential({
      scopes: [`${emu.audience}/.default`],
    });
    expect(result?.accessToken).toBeTruthy();
    expect(result!.expiresOn!.getTime()).toBeGreaterThan(Date.now() + 3000_000);
    expect((await subscriptionsList(result!.accessToken)).status).toBe(200);
  });

  it("rejects a wrong secret with msal's invalid_client error", async () => {
    const app = new ConfidentialClientApplication({
      auth: {
        clientId: emu.tenant.clientId,
        clientSecret: emu.tenant.clientSecretId,
        authority: `${emu.authority}/${emu.tenant.tenantId}`,
        knownAuthorities: [new URL(emu.url).host],
      },
      system: { networkClient: msalNetworkClient(emu.caCertPem) },
    });
    await expect(
      app.acquireTokenByClientCredential({ scopes: [`${emu.audience}/.default`] }),
    ).rejects.toThrow(/AADSTS7000215/);
  });

  it("works in a child process that trusts the CA only through NODE_EXTRA_CA_CERTS", async () => {
    const script = `
      import { ConfidentialClientApplication } from "@azure/msal-node";
      const e = process.env;
      const app = new ConfidentialClientApplication({ auth: { clientId: e.EMU_CLIENT_ID, clientSecret: e.EMU_CLIENT_SECRET,
        authority: e.EMU_URL + "/" + e.EMU_TENANT_ID, knownAuthorities: [new URL(e.EMU_URL).host] } });
      const r = await app.acquireTokenByClientCredential({ scopes: [e.EMU_URL + "/.default"] });
      const res = await fetch(e.EMU_URL + "/api/v1.0/" + e.EMU_TENANT_ID + "/activity/feed/subscriptions/list?PublisherIdentifier=" + e.EMU_TENANT_ID,
        { headers: { Authorization: "Bearer " + r.accessToken } });
      console.log(res.status);`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      cwd: new URL("../../..", import.meta.url).pathname,
      // Only the CA file reaches the child: no in-process agent, as a separate client would run.
      env: {
        ...process.env,
        NODE_EXTRA_CA_CERTS: emu.caCertPath,
        EMU_URL: emu.url,
        EMU_TENANT_ID: emu.tenant.tenantId,
        EMU_CLIENT_ID: emu.tenant.clientId,
        EMU_CLIENT_SECRET: emu.tenant.clientSecret,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    const code = await new Promise((resolve) => child.on("exit", resolve));
    expect({ code, out: out.trim(), err }).toEqual({ code: 0, out: "200", err: "" });
  });
});

describe("token endpoint rules", () => {
  it("issues v2 tokens with expires_in and v1 tokens for resource=audience", async () => {
    const v2 = await tokenRequest(emu, credentials(emu));
    expect(v2.status).toBe(200);
    expect(JSON.parse(v2.body)).toMatchObject({ token_type: "Bearer", expires_in: 3599 });
    const v1 = await tokenRequest(
      emu,
      {
        grant_type: "client_credentials",
        client_id: emu.tenant.clientId,
        client_secret: emu.tenant.clientSecret,
        resource: emu.audience,
      },
      `${emu.tenant.tenantId}/oauth2/token`,
    );
    expect(v1.status).toBe(200);
    const body = JSON.parse(v1.body) as {
      resource: string;
      expires_on: string;
      access_token: string;
    };
    expect(body.resource).toBe(emu.audience);
    expect(Number(body.expires_on)).toBeGreaterThan(Date.now() / 1000);
    expect((await subscriptionsList(body.access_token)).status).toBe(200);
  });

  it("accepts the tenant's domain name and the Management APIs app id as the resource", async () => {
    const res = await tokenRequest(
      emu,
      credentials(emu, { scope: `${MANAGEMENT_API_APP_ID}/.default` }),
      `${emu.tenant.domain}/oauth2/v2.0/token`,
    );
    expect(res.status).toBe(200);
  });

  it("answers each mistake with Entra's error, code and status", async () => {
    const cases: [
      Record<string, string>,
      string | undefined,
      { status: number; error: string; code: number },
    ][] = [
      [
        credentials(emu, { client_secret: "wrong-secret-value" }),
        undefined,
        { status: 401, error: "invalid_client", code: 7000215 },
      ],
      [
        credentials(emu, { client_secret: emu.tenant.clientSecretId }),
        undefined,
        { status: 401, error: "invalid_client", code: 7000215 },
      ],
      [
        credentials(emu, { client_secret: "" }),
        undefined,
        { status: 401, error: "invalid_client", code: 7000216 },
      ],
      [
        credentials(emu, { client_id: "22222222-2222-2222-2222-222222222222" }),
        undefined,
        { status: 400, error: "unauthorized_client", code: 700016 },
      ],
      [
        credentials(emu, { scope: emu.audience }),
        undefined,
        { status: 400, error: "invalid_scope", code: 1002012 },
      ],
      [
        credentials(emu, { scope: "https://other.example/.default" }),
        undefined,
        { status: 400, error: "invalid_resource", code: 500011 },
      ],
      [
        credentials(emu, { grant_type: "password" }),
        undefined,
        { status: 400, error: "unsupported_grant_type", code: 70003 },
      ],
      [
        credentials(emu),
        "33333333-3333-3333-3333-333333333333/oauth2/v2.0/token",
        { status: 400, error: "invalid_request", code: 90002 },
      ],
    ];
    for (const [values, path, expected] of cases) {
      const res = await tokenRequest(emu, values, path);
      expect(entra(res), JSON.stringify(values)).toMatchObject(expected);
    }
  });

  it("never echoes the secret in an error", async () => {
    const res = await tokenRequest(emu, credentials(emu, { client_secret: "Wrong~Secret~Value" }));
    expect(res.body).not.toContain("Wrong~Secret~Value");
    expect(res.body).not.toContain(emu.tenant.clientSecret);
  });
});

describe("bearer tokens on the activity API", () => {
  it("answers 401 without a token, with a forged one, and with a token for another audience", async () => {
    const none = await send(emu.caCertPem, "GET", feedUrl(emu, "subscriptions/list"));
    expect(none.status).toBe(401);
    expect(none.headers["www-authenticate"]).toMatch(/^Bearer /);
    expect(errorCode(none)).toBe("Unauthorized");
    const good = await getToken(emu);
    const [h, p] = good.split(".");
    expect((await subscriptionsList(`${h}.${p}.forged`)).status).toBe(401);
    const graph = await getToken(emu, "https://graph.microsoft.com/.default");
    const wrongAudience = await subscriptionsList(graph);
    expect(wrongAudience.status).toBe(401);
    expect(JSON.parse(wrongAudience.body).error.message).toMatch(/audience/);
  });

  it("answers 401 AF20010 when the URL names another tenant", async () => {
    const res = await subscriptionsList(
      await getToken(emu),
      "44444444-4444-4444-4444-444444444444",
    );
    expect(res.status).toBe(401);
    expect(errorCode(res)).toBe("AF20010");
  });

  it("expires tokens after tokenLifetimeSeconds, and msal-node then fetches a new one", async () => {
    const short = await startEmulator({
      seed: "tokens",
      tokenLifetimeSeconds: 1,
      tenant: { days: 1, futureDays: 0 },
    });
    try {
      // Date stands still from the token's issue to its first use, so a slow machine cannot
      // let the 1 s lifetime run out before the check that it is accepted.
      vi.useFakeTimers({ toFake: ["Date"], now: Date.now() });
      const token = await getToken(short);
      const url = feedUrl(short, "subscriptions/list");
      expect(
        (await send(short.caCertPem, "GET", url, { headers: { Authorization: `Bearer ${token}` } }))
          .status,
      ).toBe(200);
      // Token expiry follows real time (clients cache tokens by their own clocks), not the
      // emulator's simulated clock: the process's Date moves 2.1 s on instead of waiting for it.
      vi.setSystemTime(Date.now() + 2100);
      const expired = await send(short.caCertPem, "GET", url, {
        headers: { Authorization: `Bearer ${token}` },
      });
      expect(expired.status).toBe(401);
      expect(JSON.parse(expired.body).error.message).toMatch(/expired/);

      const app = new ConfidentialClientApplication({
        auth: {
          clientId: short.tenant.clientId,
          clientSecret: short.tenant.clientSecret,
          authority: `${short.authority}/${short.tenant.tenantId}`,
          knownAuthorities: [new URL(short.url).host],
        },
        system: { networkClient: msalNetworkClient(short.caCertPem) },
      });
      const before = short.stats().tokensIssued;
      await app.acquireTokenByClientCredential({ scopes: [`${short.audience}/.default`] });
      await app.acquireTokenByClientCredential({ scopes: [`${short.audience}/.default`] });
      expect(short.stats().tokensIssued - before).toBe(2);
    } finally {
      vi.useRealTimers();
      await short.stop();
    }
  });

  it("revokeTokens() refuses every token issued so far, even one msal-node still caches", async () => {
    const local = await startEmulator({ seed: "revoke", tenant: { days: 1, futureDays: 0 } });
    try {
      const app = new ConfidentialClientApplication({
        auth: {
          clientId: local.tenant.clientId,
          clientSecret: local.tenant.clientSecret,
          authority: `${local.authority}/${local.tenant.tenantId}`,
          knownAuthorities: [new URL(local.url).host],
        },
        system: { networkClient: msalNetworkClient(local.caCertPem) },
      });
      const scopes = [`${local.audience}/.default`];
      const list = (token: string) =>
        send(local.caCertPem, "GET", feedUrl(local, "subscriptions/list"), {
          headers: { Authorization: `Bearer ${token}` },
        });
      const cached = (await app.acquireTokenByClientCredential({ scopes }))!.accessToken;
      const raw = await getToken(local);
      expect((await list(cached)).status).toBe(200);
      expect(local.stats().faults.tokenRevocations).toBe(0);

      local.revokeTokens();
      for (const token of [cached, raw]) {
        const refused = await list(token);
        expect(refused.status).toBe(401);
        expect(refused.headers["www-authenticate"]).toMatch(/invalid_token/);
        expect(JSON.parse(refused.body).error.message).toMatch(/revoked/);
      }
      // msal-node serves the revoked token from its cache until told to skip it.
      expect((await app.acquireTokenByClientCredential({ scopes }))!.accessToken).toBe(cached);
      const fresh = (await app.acquireTokenByClientCredential({ scopes, skipCache: true }))!
        .accessToken;
      expect(fresh).not.toBe(cached);
      expect((await list(fresh)).status).toBe(200);
      expect((await list(await getToken(local))).status).toBe(200);
      expect(local.stats().faults.tokenRevocations).toBe(1);
      // A forged token is still told apart from a revoked one.
      const forged = await list(`${fresh.slice(0, fresh.lastIndexOf(".") + 1)}AAAA`);
      expect(JSON.parse(forged.body).error.message).toMatch(/signature is invalid/);
    } finally {
      await local.stop();
    }
  });

  it("answers 401 AF10001 when admin consent was not granted", async () => {
    const noConsent = await startEmulator({
      seed: "tokens",
      consentGranted: false,
      tenant: { days: 1, futureDays: 0 },
    });
    try {
      const token = await getToken(noConsent);
      const res = await send(noConsent.caCertPem, "GET", feedUrl(noConsent, "subscriptions/list"), {
        headers: { Authorization: `Bearer ${token}` },
      });
      expect(res.status).toBe(401);
      expect(errorCode(res)).toBe("AF10001");
    } finally {
      await noConsent.stop();
    }
  });
});
