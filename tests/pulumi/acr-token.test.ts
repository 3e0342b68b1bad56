import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import * as https from "node:https";
import {
  ACR_REFRESH_TOKEN_USERNAME,
  AcrTokenExchangeError,
  exchangeForAcrRefreshToken,
} from "../../components/acr-token";
import { refreshTokenFor, startFakeAcr, type FakeAcr } from "./fake-acr";

const TENANT = "22222222-2222-2222-2222-222222222222";
const ACCESS_TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOi.Secret-ARM-Access-Token.sig";

/** Runs the exchange and returns the error it fails with (the test fails if it succeeds). */
async function failure(promise: Promise<unknown>): Promise<AcrTokenExchangeError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AcrTokenExchangeError);
  return error as AcrTokenExchangeError;
}

describe("exchangeForAcrRefreshToken against a local HTTPS registry", () => {
  let acr: FakeAcr;
  const quick = () => ({ agent: acr.agent, retryDelaysMs: [10, 10] });
  const request = () => ({
    loginServer: acr.loginServer,
    tenantId: TENANT,
    accessToken: ACCESS_TOKEN,
  });

  beforeAll(async () => {
    acr = await startFakeAcr();
  });
  afterAll(async () => {
    await acr.stop();
  });
  beforeEach(() => {
    acr.calls.length = 0;
    acr.respond((call) => ({
      status: 200,
      body: JSON.stringify({ refresh_token: refreshTokenFor(call.form) }),
    }));
  });

  it("posts the az acr login form to /oauth2/exchange and returns the refresh token", async () => {
    const token = await exchangeForAcrRefreshToken(request(), quick());
    expect(token).toBe(refreshTokenFor({ service: acr.loginServer, tenant: TENANT }));
    expect(acr.calls).toEqual([
      {
        method: "POST",
        path: "/oauth2/exchange",
        contentType: "application/x-www-form-urlencoded",
        form: {
          grant_type: "access_token",
          service: acr.loginServer,
          tenant: TENANT,
          access_token: ACCESS_TOKEN,
        },
      },
    ]);
    expect(ACR_REFRESH_TOKEN_USERNAME).toBe("00000000-0000-0000-0000-000000000000");
  });

  it("speaks only https: a registry it cannot verify is not trusted", async () => {
    const error = await failure(
      exchangeForAcrRefreshToken(request(), { retryDelaysMs: [], agent: new https.Agent() }),
    );
    expect(error.message).toMatch(/after 1 attempts .*certificate/i);
    expect(acr.calls).toHaveLength(0);
  });

  it("reports a refusal at once with what to check, without the token", async () => {
    acr.respond(() => ({
      status: 401,
      body: JSON.stringify({
        errors: [{ code: "UNAUTHORIZED", message: `invalid token ${ACCESS_TOKEN}` }],
      }),
    }));
    const error = await failure(exchangeForAcrRefreshToken(request(), quick()));
    expect(error.status).toBe(401);
    expect(error.loginServer).toBe(acr.loginServer);
    expect(error.message).toContain(`Registry ${acr.loginServer} refused`);
    expect(error.message).toContain("UNAUTHORIZED");
    expect(error.message).toContain(TENANT);
    expect(error.message).toMatch(/authentication-as-arm/);
    expect(error.message).toMatch(/Owner, Contributor or AcrPush/);
    expect(error.message).toMatch(/syncImage/);
    expect(error.message).not.toContain(ACCESS_TOKEN);
    expect(acr.calls).toHaveLength(1);
  });

  it("does not retry a bad request and names the status", async () => {
    acr.respond(() => ({ status: 400, body: '{"errors":[{"code":"BAD_REQUEST"}]}' }));
    const error = await failure(exchangeForAcrRefreshToken(request(), quick()));
    expect(error.status).toBe(400);
    expect(error.message).toMatch(/HTTP 400: BAD_REQUEST/);
    expect(acr.calls).toHaveLength(1);
  });

  it("retries 429 and 5xx answers and succeeds when the registry recovers", async () => {
    acr.respond((call, calls) =>
      calls.length === 1
        ? { status: 503, body: "starting" }
        : calls.length === 2
          ? { status: 429, body: "" }
          : { status: 200, body: JSON.stringify({ refresh_token: refreshTokenFor(call.form) }) },
    );
    await expect(exchangeForAcrRefreshToken(request(), quick())).resolves.toMatch(
      /^acr-refresh-for-/,
    );
    expect(acr.calls).toHaveLength(3);
  });

  it("gives up after the bounded retries with the last status", async () => {
    acr.respond(() => ({ status: 500, body: '{"errors":[{"code":"INTERNAL"}]}' }));
    const error = await failure(exchangeForAcrRefreshToken(request(), quick()));
    expect(error.status).toBe(500);
    expect(error.message).toMatch(/after 3 attempts \(HTTP 500: INTERNAL\)/);
    expect(acr.calls).toHaveLength(3);
  });

  it("fails clearly when the answer carries no refresh token", async () => {
    acr.respond(() => ({ status: 200, body: '{"access_token":"x"}' }));
    const error = await failure(exchangeForAcrRefreshToken(request(), quick()));
    expect(error.message).toMatch(/without a refresh_token/);
  });

  it("reports an unreachable registry after its retries, naming the server", async () => {
    const gone = await startFakeAcr();
    const loginServer = gone.loginServer;
    await gone.stop();
    const error = await failure(
      exchangeForAcrRefreshToken(
        { loginServer, tenantId: TENANT, accessToken: ACCESS_TOKEN },
        { agent: acr.agent, retryDelaysMs: [5] },
      ),
    );
    expect(error.message).toContain(`Could not log in to registry ${loginServer} after 2 attempts`);
    expect(error.message).toMatch(/ECONNREFUSED/);
    expect(error.status).toBeUndefined();
  });

  it("refuses a login server with a scheme or path, and empty credentials, before any request", async () => {
    for (const loginServer of ["https://cr.azurecr.io", "cr.azurecr.io/x", ""]) {
      const error = await failure(
        exchangeForAcrRefreshToken(
          { loginServer, tenantId: TENANT, accessToken: ACCESS_TOKEN },
          quick(),
        ),
      );
      expect(error.message).toMatch(/Not a registry login server/);
    }
    const noToken = await failure(
      exchangeForAcrRefreshToken({ ...request(), accessToken: " " }, quick()),
    );
    expect(noToken.message).toMatch(/no access token.*az login/);
    expect(acr.calls).toHaveLength(0);
  });
});
