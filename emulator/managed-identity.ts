/**
 * What Azure Container Apps gives a container with a managed identity (learn.microsoft.com,
 * "Managed identities in Azure Container Apps", REST endpoint reference): a local token endpoint
 * named by IDENTITY_ENDPOINT (`http://localhost:42356/msi/token` there: plain HTTP, reachable only
 * from inside the container), and a secret IDENTITY_HEADER the caller sends back as
 * `X-IDENTITY-HEADER` against server-side request forgery. `GET ?resource=&api-version=2019-08-01`
 * with `client_id` (or `principal_id`/`object_id`, or `mi_res_id`) of a user-assigned identity
 * answers `{access_token, expires_on, resource, token_type, client_id}`.
 *
 * The token is what Entra issues for the identity: issuer the tenant's v2.0 issuer, subject and
 * oid the identity's principal (object) id, audience the requested resource. The emulator's token
 * endpoint accepts it as a client assertion when the app has a matching federated credential.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { json, queryParam, type Reply } from "./http";
import type { TokenSigner } from "./tokens";

/** The path Container Apps serve the endpoint at. */
export const IDENTITY_PATH = "/msi/token";

/** The oldest api-version the endpoint answers ("Use 2019-08-01 or later"). */
const MIN_API_VERSION = "2019-08-01";

/** Managed-identity tokens live about a day (the docs' back-end cache holds them ~24 hours). */
const TOKEN_LIFETIME_SECONDS = 24 * 3600;

/** The user-assigned identity assigned to the container app. */
export interface ManagedIdentity {
  clientId: string;
  principalId: string;
  /** Its Azure resource id, for `mi_res_id`. */
  resourceId: string;
}

export interface ManagedIdentityContext {
  identity: ManagedIdentity;
  /** The value of IDENTITY_HEADER. */
  header: string;
  /** Issuer of its tokens: the tenant's v2.0 issuer on this emulator's authority. */
  issuer: string;
  tenantId: string;
  signer: TokenSigner;
  counters: { managedIdentityTokens: number; managedIdentityErrors: number };
}

/** The managed identity endpoint's error shape, as App Service's and Container Apps' answer it. */
function identityError(status: number, message: string): Reply {
  return json(status, { statusCode: status, message, correlationId: randomUUID() });
}

/** The answer to one request to IDENTITY_ENDPOINT. */
export function managedIdentityToken(ctx: ManagedIdentityContext, req: IncomingMessage): Reply {
  const url = new URL(req.url ?? "/", "http://127.0.0.1");
  if (url.pathname !== IDENTITY_PATH) return identityError(404, "Not found.");
  if (req.method !== "GET") return identityError(405, "Only GET is supported.");
  if (req.headers["x-identity-header"] !== ctx.header)
    return identityError(401, "The X-IDENTITY-HEADER header is missing or not valid.");
  const apiVersion = queryParam(url, "api-version");
  if (!apiVersion || apiVersion < MIN_API_VERSION)
    return identityError(400, `api-version must be ${MIN_API_VERSION} or later.`);
  const resource = queryParam(url, "resource");
  if (!resource) return identityError(400, "The resource parameter is required.");
  const ids = {
    client_id: queryParam(url, "client_id"),
    principal_id: queryParam(url, "principal_id") ?? queryParam(url, "object_id"),
    mi_res_id: queryParam(url, "mi_res_id"),
  };
  const given = Object.entries(ids).filter(([, v]) => v !== undefined);
  if (given.length > 1)
    return identityError(400, "Only one of client_id, principal_id, object_id or mi_res_id.");
  // Without an id the system-assigned identity is meant, which this container app does not have.
  const { identity } = ctx;
  const matches =
    given.length === 1 &&
    (ids.client_id?.toLowerCase() === identity.clientId.toLowerCase() ||
      ids.principal_id?.toLowerCase() === identity.principalId.toLowerCase() ||
      ids.mi_res_id?.toLowerCase() === identity.resourceId.toLowerCase());
  if (!matches) return identityError(400, "Unable to load the proper Managed Identity.");
  const now = Math.floor(Date.now() / 1000);
  const expiresOn = now + TOKEN_LIFETIME_SECONDS;
  const accessToken = ctx.signer.sign({
    aud: resource,
    iss: ctx.issuer,
    tid: ctx.tenantId,
    appid: identity.clientId,
    roles: [],
    iat: now,
    nbf: now,
    exp: expiresOn,
    ver: "2.0",
    oid: identity.principalId,
    sub: identity.principalId,
  });
  return json(200, {
    access_token: accessToken,
    expires_on: String(expiresOn),
    resource,
    token_type: "Bearer",
    client_id: identity.clientId,
  });
}

/**
 * The endpoint's own server: plain HTTP on 127.0.0.1 (as in the container, where it is local),
 * on a port of its own. Returns IDENTITY_ENDPOINT.
 */
export async function startManagedIdentityEndpoint(
  ctx: ManagedIdentityContext,
): Promise<{ endpoint: string; server: Server }> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    // The request has no body to wait for; drain whatever came so the socket can be reused.
    req.resume();
    const reply = managedIdentityToken(ctx, req);
    if (reply.status === 200) ctx.counters.managedIdentityTokens++;
    else ctx.counters.managedIdentityErrors++;
    res.writeHead(reply.status, reply.headers).end(reply.body as string);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return { endpoint: `http://127.0.0.1:${port}${IDENTITY_PATH}`, server };
}
