/**
 * Entra for the client credentials grant: OpenID/instance discovery documents for a
 * non-Microsoft authority, and the v2 and v1 token endpoints with Entra's error shapes.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { json, readBody, safeDecode, type Reply } from "./http";
import {
  ACTIVITY_FEED_READ,
  AUDIT_LOGS_QUERY_READ_ALL,
  USER_READ_ALL,
  sameAudience,
  type TokenSigner,
} from "./tokens";

/**
 * The Office 365 Management APIs application (its appId is what the docs' "Get started with Office
 * 365 Management APIs" consent refers to): "{appId}/.default" is accepted as a scope too.
 */
export const MANAGEMENT_API_APP_ID = "c5393580-f805-4401-95e8-94b7a6ef2fc2";

const GRAPH = "https://graph.microsoft.com";

/** A federated identity credential of the app (Graph's federatedIdentityCredential). */
export interface FederatedCredential {
  issuer: string;
  subject: string;
  audience: string;
}

/** The app's federated identity credentials, and how far they have propagated. */
export interface FederationState {
  credentials: FederatedCredential[];
  /** Assertion requests still answered AADSTS70021, as while a new credential propagates. */
  pendingRequests: number;
}

/** RFC 7523's client assertion type, the only one Entra accepts. */
export const JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

export interface TokenEndpointContext {
  origin: string;
  audience: string;
  /** This server's stand-in for https://graph.microsoft.com (tokens carry the Graph role). */
  graphAudience: string;
  /** Further resources tokens are issued for (a Dataverse environment's URL), set once known. */
  otherAudiences: string[];
  tenantId: string;
  domain: string;
  clientId: string;
  clientSecret: string;
  tokenLifetimeSeconds: number;
  consentGranted: boolean;
  /** Graph tokens also carry User.Read.All (the admin granted it for user details). */
  userReadAll: boolean;
  signer: TokenSigner;
  federation: FederationState;
  counters: {
    tokenRequests: number;
    tokensIssued: number;
    tokenErrors: number;
    /** Token requests that carried a client_secret (in the form or HTTP Basic), right or wrong. */
    clientSecretsSeen: number;
    /** Token requests that carried a client assertion. */
    clientAssertionsSeen: number;
  };
}

/** AADSTS error answer as Entra shapes it. */
export function entraError(
  status: number,
  error: string,
  code: number,
  description: string,
): Reply {
  const traceId = randomUUID();
  const correlationId = randomUUID();
  const timestamp = new Date()
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d+Z$/, "Z");
  return json(status, {
    error,
    error_description: `AADSTS${code}: ${description} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
    error_codes: [code],
    timestamp,
    trace_id: traceId,
    correlation_id: correlationId,
    error_uri: `https://login.microsoftonline.com/error?code=${code}`,
  });
}

function knownTenant(ctx: TokenEndpointContext, tenant: string): boolean {
  const t = tenant.toLowerCase();
  return t === ctx.tenantId.toLowerCase() || t === ctx.domain.toLowerCase();
}

function tenantNotFound(tenant: string): Reply {
  return entraError(
    400,
    "invalid_request",
    90002,
    `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
  );
}

/** GET /{tenant}/v2.0/.well-known/openid-configuration (and the v1 form without "v2.0/"). */
export function openIdConfiguration(ctx: TokenEndpointContext, tenant: string, v2: boolean): Reply {
  if (!knownTenant(ctx, tenant)) return tenantNotFound(tenant);
  const base = `${ctx.origin}/${ctx.tenantId}`;
  const oauth = v2 ? `${base}/oauth2/v2.0` : `${base}/oauth2`;
  return json(200, {
    token_endpoint: `${oauth}/token`,
    token_endpoint_auth_methods_supported: [
      "client_secret_post",
      "private_key_jwt",
      "client_secret_basic",
    ],
    jwks_uri: `${base}/discovery/${v2 ? "v2.0/" : ""}keys`,
    response_modes_supported: ["query", "fragment", "form_post"],
    subject_types_supported: ["pairwise"],
    id_token_signing_alg_values_supported: ["RS256"],
    response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
    scopes_supported: ["openid", "profile", "email", "offline_access"],
    issuer: v2 ? `${base}/v2.0` : `${base}/`,
    request_uri_parameter_supported: false,
    userinfo_endpoint: `${ctx.origin}/oidc/userinfo`,
    authorization_endpoint: `${oauth}/authorize`,
    device_authorization_endpoint: `${oauth}/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${oauth}/logout`,
    claims_supported: ["sub", "iss", "aud", "exp", "iat", "nbf", "tid", "ver"],
    tenant_region_scope: "EU",
    cloud_instance_name: "emulator",
  });
}

/** Instance discovery, for clients that ask instead of listing the host in knownAuthorities. */
export function instanceDiscovery(ctx: TokenEndpointContext): Reply {
  const host = new URL(ctx.origin).host;
  return json(200, {
    tenant_discovery_endpoint: `${ctx.origin}/${ctx.tenantId}/v2.0/.well-known/openid-configuration`,
    "api-version": "1.1",
    metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
  });
}

export function keys(): Reply {
  return json(200, { keys: [] });
}

/** POST /{tenant}/oauth2/v2.0/token (scope) or /{tenant}/oauth2/token (resource, v1). */
export async function token(
  ctx: TokenEndpointContext,
  tenant: string,
  v2: boolean,
  req: IncomingMessage,
): Promise<Reply> {
  ctx.counters.tokenRequests++;
  const reply = await decide(ctx, tenant, v2, req);
  if (reply.status === 200) ctx.counters.tokensIssued++;
  else ctx.counters.tokenErrors++;
  return reply;
}

/**
 * Entra's answer to a token request. The checks run in a fixed order and the first that fails
 * answers, so a request with several mistakes always gets the same error: the form, the grant
 * and the client, the resource, and only then the secret or the client assertion.
 */
async function decide(
  ctx: TokenEndpointContext,
  tenant: string,
  v2: boolean,
  req: IncomingMessage,
): Promise<Reply> {
  if (!knownTenant(ctx, tenant)) return tenantNotFound(tenant);
  const request = await readTokenRequest(req);
  if ("error" in request) return request.error;
  const clientError = checkGrantAndClient(ctx, request);
  if (clientError) return clientError;
  if (request.secret !== null) ctx.counters.clientSecretsSeen++;
  const resource = v2 ? resourceOfScope(request.form) : resourceOfForm(request.form);
  if ("error" in resource) return resource.error;
  const audience = audienceOf(ctx, resource.value);
  if ("error" in audience) return audience.error;
  const credentialError =
    request.assertion !== null || request.assertionType !== null
      ? checkAssertion(ctx, request)
      : checkSecret(ctx, request.secret);
  if (credentialError) return credentialError;
  return issueToken(ctx, audience.value, resource.value, v2);
}

interface TokenRequest {
  form: URLSearchParams;
  grantType: string | null;
  /** From the form, else from HTTP Basic. */
  clientId: string | null;
  secret: string | null;
  assertionType: string | null;
  assertion: string | null;
}

function missing(parameter: string): Reply {
  return entraError(
    400,
    "invalid_request",
    900144,
    `The request body must contain the following parameter: '${parameter}'.`,
  );
}

/** The form and the client's credentials (in the form or with HTTP Basic). */
async function readTokenRequest(req: IncomingMessage): Promise<TokenRequest | { error: Reply }> {
  const contentType = (req.headers["content-type"] ?? "").toLowerCase();
  // A body that is no form has no parameters at all: the first one missing is grant_type.
  if (!contentType.startsWith("application/x-www-form-urlencoded"))
    return { error: missing("grant_type") };
  const form = new URLSearchParams(await readBody(req));
  const basic = basicCredentials(req.headers.authorization);
  return {
    form,
    grantType: form.get("grant_type"),
    clientId: form.get("client_id") ?? basic?.id ?? null,
    secret: form.get("client_secret") ?? basic?.secret ?? null,
    assertionType: form.get("client_assertion_type"),
    assertion: form.get("client_assertion"),
  };
}

/** null for the client credentials grant of the tenant's app, else Entra's error. */
function checkGrantAndClient(ctx: TokenEndpointContext, request: TokenRequest): Reply | null {
  const { grantType, clientId } = request;
  if (!grantType) return missing("grant_type");
  if (grantType !== "client_credentials")
    return entraError(
      400,
      "unsupported_grant_type",
      70003,
      `The app requested an unsupported grant type '${grantType}'.`,
    );
  if (!clientId) return missing("client_id");
  if (clientId.toLowerCase() !== ctx.clientId.toLowerCase())
    return entraError(
      400,
      "unauthorized_client",
      700016,
      `Application with identifier '${clientId}' was not found in the directory '${ctx.domain}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
    );
  return null;
}

/** v2: the resource of the one "{resource}/.default" scope the client credentials grant allows. */
function resourceOfScope(form: URLSearchParams): { value: string } | { error: Reply } {
  const scope = form.get("scope");
  if (!scope) return { error: missing("scope") };
  const scopes = scope.split(" ").filter(Boolean);
  if (scopes.length !== 1 || !scopes[0].endsWith("/.default"))
    return {
      error: entraError(
        400,
        "invalid_scope",
        1002012,
        `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
      ),
    };
  return { value: scopes[0].slice(0, -"/.default".length) };
}

/** v1: the resource parameter. */
function resourceOfForm(form: URLSearchParams): { value: string } | { error: Reply } {
  const resource = form.get("resource");
  if (!resource) return { error: missing("resource") };
  return { value: resource };
}

/** The audience of the token for a resource: this API (by URL or app id), or Graph. */
function audienceOf(
  ctx: TokenEndpointContext,
  resource: string,
): { value: string } | { error: Reply } {
  // A token for Microsoft Graph is issued (the app may hold Graph permissions) but the activity
  // API refuses it: the classic wrong-scope mistake, visible as a 401 on the API call.
  if (sameAudience(resource, ctx.graphAudience)) return { value: ctx.graphAudience };
  const other = ctx.otherAudiences.find((a) => sameAudience(resource, a));
  if (other) return { value: other };
  const audience = sameAudience(resource, GRAPH) ? GRAPH : ctx.audience;
  if (
    !sameAudience(resource, ctx.audience) &&
    resource.toLowerCase() !== MANAGEMENT_API_APP_ID &&
    audience !== GRAPH
  )
    return {
      error: entraError(
        400,
        "invalid_resource",
        500011,
        `The resource principal named ${resource} was not found in the tenant named ${ctx.domain}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`,
      ),
    };
  return { value: audience };
}

/** null for the app's secret, else Entra's error (which never echoes what was sent). */
function checkSecret(ctx: TokenEndpointContext, secret: string | null): Reply | null {
  if (!secret)
    return entraError(
      401,
      "invalid_client",
      7000216,
      "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.",
    );
  if (secret !== ctx.clientSecret)
    return entraError(
      401,
      "invalid_client",
      7000215,
      `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${ctx.clientId}'.`,
    );
  return null;
}

/**
 * null for a client assertion that a federated identity credential of the app trusts, else
 * Entra's error (workload identity federation: learn.microsoft.com, "Configure an application to
 * trust a managed identity", and the AADSTS reference). The assertion must be a token this
 * emulator signed (as Entra checks the issuer's keys), still valid; then its issuer, audience and
 * subject must match one credential, checked in that order, each mismatch with its own code.
 * While `pendingRequests` lasts, every assertion meets AADSTS70021, as while a credential created
 * moments ago propagates. The assertion itself is never echoed back.
 */
function checkAssertion(ctx: TokenEndpointContext, request: TokenRequest): Reply | null {
  ctx.counters.clientAssertionsSeen++;
  // Only the JWT bearer type exists; the emulator answers any other as if the type were absent
  // (the docs list no code of its own for it).
  if (request.assertionType !== JWT_BEARER) return missing("client_assertion_type");
  if (!request.assertion) return missing("client_assertion");
  const verified = ctx.signer.verify(request.assertion);
  if ("reason" in verified)
    return verified.reason.includes("expired")
      ? entraError(
          400,
          "invalid_client",
          700024,
          "Client assertion is not within its valid time range.",
        )
      : entraError(400, "invalid_client", 700027, "Client assertion failed signature validation.");
  const { iss, sub, aud } = verified.claims;
  const check =
    "Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation";
  const federation = ctx.federation;
  if (federation.pendingRequests > 0 || federation.credentials.length === 0) {
    if (federation.pendingRequests > 0) federation.pendingRequests--;
    return entraError(
      400,
      "invalid_request",
      70021,
      `No matching federated identity record found for presented assertion. Assertion Issuer: '${iss}'. Assertion Subject: '${sub}'. Assertion Audience: '${aud}'.`,
    );
  }
  const byIssuer = federation.credentials.filter((c) => c.issuer === iss);
  if (byIssuer.length === 0)
    return entraError(
      400,
      "invalid_client",
      700211,
      `No matching federated identity record found for presented assertion issuer '${iss}'. ${check}`,
    );
  const byAudience = byIssuer.filter((c) => c.audience === aud);
  if (byAudience.length === 0)
    return entraError(
      400,
      "invalid_client",
      700212,
      `No matching federated identity record found for presented assertion audience '${aud}'. ${check}`,
    );
  if (!byAudience.some((c) => c.subject === sub))
    return entraError(
      400,
      "invalid_client",
      700213,
      `No matching federated identity record found for presented assertion subject '${sub}'. ${check}`,
    );
  return null;
}

/** The signed access token, in the v2 answer (expires_in) or the v1 one (expires_on, resource). */
function issueToken(
  ctx: TokenEndpointContext,
  audience: string,
  resource: string,
  v2: boolean,
): Reply {
  const now = Math.floor(Date.now() / 1000);
  const lifetime = ctx.tokenLifetimeSeconds;
  const accessToken = ctx.signer.sign({
    aud: audience,
    iss: `${ctx.origin}/${ctx.tenantId}/`,
    tid: ctx.tenantId,
    appid: ctx.clientId,
    // Admin consent is an app role assignment per resource: each audience has its own role.
    roles: ctx.consentGranted
      ? sameAudience(audience, ctx.graphAudience)
        ? [AUDIT_LOGS_QUERY_READ_ALL, ...(ctx.userReadAll ? [USER_READ_ALL] : [])]
        : [ACTIVITY_FEED_READ]
      : [],
    iat: now,
    nbf: now,
    exp: now + lifetime,
    ver: "1.0",
    oid: ctx.clientId,
    sub: ctx.clientId,
  });
  if (v2)
    return json(200, {
      token_type: "Bearer",
      expires_in: lifetime,
      ext_expires_in: lifetime,
      access_token: accessToken,
    });
  return json(200, {
    token_type: "Bearer",
    expires_in: String(lifetime),
    ext_expires_in: String(lifetime),
    expires_on: String(now + lifetime),
    not_before: String(now),
    resource,
    access_token: accessToken,
  });
}

function basicCredentials(header: string | undefined): { id: string; secret: string } | null {
  if (!header?.toLowerCase().startsWith("basic ")) return null;
  const decoded = Buffer.from(header.slice(6), "base64").toString("utf8");
  const i = decoded.indexOf(":");
  if (i < 0) return null;
  return {
    id: safeDecode(decoded.slice(0, i)),
    secret: safeDecode(decoded.slice(i + 1)),
  };
}
