/**
 * The HTTPS server: routes requests to the token endpoint or the activity API, and applies the
 * cross-cutting behaviour of the real services around them: latency, authentication, quota,
 * throttle storms and injected faults.
 */
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { ActivityApi, FOREIGN_PREFIX, notFound } from "./activity-api";
import type { EmulatorCertificates } from "./tls";
import type { Faults } from "./faults";
import { GRAPH_PREFIX, withRequestIds, type GraphAuditLog } from "./graph-audit";
import { USERS_PATH, type GraphUsers } from "./graph-users";
import { afError, queryParam, safeDecode, type Reply } from "./http";
import type { ResolvedOptions } from "./options";
import { Quota, SHARED_PUBLISHER } from "./quota";
import {
  entraError,
  instanceDiscovery,
  keys,
  openIdConfiguration,
  token,
  type TokenEndpointContext,
} from "./token-endpoint";
import { ACTIVITY_FEED_READ, sameAudience, type TokenSigner } from "./tokens";

export interface ServerCounters {
  requests: number;
  unauthorized: number;
  throttled: number;
  requestsByPublisher: Record<string, number>;
}

/** A request that came in through a foreign URI of the bad input corpus. */
export interface ForeignRequest {
  /** Real time of arrival, ISO. */
  at: string;
  method: string;
  /** The Host header as sent (the foreign host name and port). */
  host: string;
  /** Path and query, without the /foreign prefix: what the URI named on the "other" host. */
  path: string;
  /** The Authorization header's scheme ("Bearer", "Basic"…), or null when none was sent. */
  authorizationScheme: string | null;
  /** A token this emulator issued was sent (revoked or expired ones included): the leak. */
  sentEmulatorToken: boolean;
}

export interface ServerParts {
  options: ResolvedOptions;
  faults: Faults;
  quota: Quota;
  signer: TokenSigner;
  counters: ServerCounters;
  api: ActivityApi;
  graph: GraphAuditLog;
  graphUsers: GraphUsers;
  tokenContext: TokenEndpointContext;
  /** Requests received through foreign URIs, in order. */
  foreignRequests: ForeignRequest[];
  /** Whether foreign URIs are handed out (only then is /foreign/ routed). */
  servesForeign: boolean;
}

/** Revokes every token issued so far (emu.revokeTokens(), faults.revokeTokensAtRequests). */
export function revokeTokens(parts: ServerParts): void {
  parts.signer.revokeAll();
  parts.faults.counters.tokenRevocations++;
}

const API_PREFIX = /^\/api\/v1\.0\/([^/]+)\/activity\/feed\/(.*)$/;

/**
 * The HTTPS server, not answering requests yet: the origin is part of every URL the API and the
 * discovery documents hand out, and with port 0 it is known only once the server listens. Build
 * the parts from that origin, then pass them to serveRequests.
 */
export function createEmulatorServer(certs: EmulatorCertificates): Server {
  const server = createServer({ cert: certs.certPem, key: certs.keyPem });
  // Connections stay open between calls like a real front door; stop() closes them.
  server.keepAliveTimeout = 30_000;
  return server;
}

/** Listens on 127.0.0.1 and returns the origin, https://127.0.0.1:PORT. */
export async function listen(server: Server, port: number): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  return `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Starts answering requests with the complete parts. */
export function serveRequests(server: Server, parts: ServerParts): void {
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res, parts).catch((err: unknown) => {
      if (!res.headersSent) {
        void write(
          req,
          res,
          afError(
            500,
            "AF50000",
            `An internal error occurred. Retry the request. (${String(err)})`,
          ),
          null,
          0,
        );
      } else {
        res.destroy();
      }
    });
  });
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  parts: ServerParts,
): Promise<void> {
  const url = new URL(req.url ?? "/", "https://127.0.0.1");
  const method = req.method ?? "GET";
  if (parts.servesForeign && url.pathname.startsWith(`${FOREIGN_PREFIX}/`))
    return write(req, res, foreign(req, parts, url, method), null, 0);
  if (url.pathname.startsWith(`${GRAPH_PREFIX}/`)) {
    const latency = parts.faults.latency();
    if (latency > 0) await sleep(latency);
    return write(
      req,
      res,
      withRequestIds(
        req,
        USERS_PATH.test(url.pathname)
          ? await parts.graphUsers.handle(req, url, method)
          : await parts.graph.handle(req, url, method),
      ),
      null,
      0,
    );
  }
  const api = API_PREFIX.exec(url.pathname);
  if (api) return handleApi(req, res, parts, url, method, safeDecode(api[1]), api[2]);
  const reply = await handleIdentity(req, parts, url, method);
  if (reply === "reset") {
    req.socket.destroy();
    return;
  }
  await write(req, res, reply, null, 0);
}

/** Records a request that came in through a foreign URI, and answers it like a stranger's host. */
function foreign(req: IncomingMessage, parts: ServerParts, url: URL, method: string): Reply {
  const path = url.pathname.slice(FOREIGN_PREFIX.length);
  const header = req.headers.authorization;
  const m = /^(\S+)(?:\s+(\S+))?/.exec(header ?? "");
  parts.foreignRequests.push({
    at: new Date().toISOString(),
    method,
    host: req.headers.host ?? "",
    path: `${path}${url.search}`,
    authorizationScheme: m ? m[1] : null,
    sentEmulatorToken: m?.[2] !== undefined && parts.signer.issuedHere(m[2]),
  });
  return parts.api.foreign(path);
}

async function handleIdentity(
  req: IncomingMessage,
  parts: ServerParts,
  url: URL,
  method: string,
): Promise<Reply | "reset"> {
  const ctx = parts.tokenContext;
  const segments = url.pathname.split("/").filter(Boolean);
  const tenant = segments[0] ?? "";
  const rest = segments.slice(1).join("/");
  if (method === "GET" && rest === "discovery/instance") return instanceDiscovery(ctx);
  if (method === "GET" && rest === "v2.0/.well-known/openid-configuration")
    return openIdConfiguration(ctx, tenant, true);
  if (method === "GET" && rest === ".well-known/openid-configuration")
    return openIdConfiguration(ctx, tenant, false);
  if (method === "GET" && (rest === "discovery/v2.0/keys" || rest === "discovery/keys"))
    return keys();
  if (rest === "oauth2/v2.0/token" || rest === "oauth2/token") {
    if (method !== "POST")
      return entraError(405, "invalid_request", 900561, "The endpoint only accepts POST requests.");
    const outage = parts.faults.tokenOutage();
    if (outage === "reset") return "reset";
    if (outage === "unavailable") {
      ctx.counters.tokenRequests++;
      ctx.counters.tokenErrors++;
      const reply = entraError(
        503,
        "temporarily_unavailable",
        90033,
        "A transient error has occurred. Please try again.",
      );
      const retryAfter = parts.options.faults.tokenOutageRetryAfterSeconds;
      if (retryAfter > 0) reply.headers = { ...reply.headers, "Retry-After": String(retryAfter) };
      return reply;
    }
    return token(ctx, tenant, rest === "oauth2/v2.0/token", req);
  }
  return notFound(url);
}

async function handleApi(
  req: IncomingMessage,
  res: ServerResponse,
  parts: ServerParts,
  url: URL,
  method: string,
  tenant: string,
  path: string,
): Promise<void> {
  const { counters, faults } = parts;
  counters.requests++;
  const publisher = queryParam(url, "PublisherIdentifier") || undefined;
  const publisherKey = publisher?.toLowerCase() ?? SHARED_PUBLISHER;
  counters.requestsByPublisher[publisherKey] =
    (counters.requestsByPublisher[publisherKey] ?? 0) + 1;
  // Revoked "just before the n-th call is authenticated": that call meets the revocation.
  if (parts.options.faults.revokeTokensAtRequests.includes(counters.requests)) revokeTokens(parts);

  const latency = faults.latency();
  if (latency > 0) await sleep(latency);
  const fault = faults.beforeHandling();
  if (fault === "reset") {
    req.socket.destroy();
    return;
  }

  const denied = authenticate(req, parts, tenant);
  if (denied) {
    counters.unauthorized++;
    return write(req, res, denied, null, 0);
  }

  const stormMs = faults.stormRemainingMs();
  const waitMs = stormMs > 0 ? stormMs : parts.quota.take(publisher);
  if (waitMs > 0) {
    counters.throttled++;
    return write(req, res, throttled(parts, publisherKey, path, waitMs), null, 0);
  }

  if (fault === "serverError") {
    const status = faults.serverErrorStatus();
    const reply =
      status === 500
        ? afError(500, "AF50000", "An internal error occurred. Retry the request.")
        : {
            status: 503,
            headers: { "Content-Type": "text/html" },
            body: "<html><body><h1>503 Service Unavailable</h1></body></html>",
          };
    return write(req, res, reply, null, 0);
  }

  const reply = parts.api.handle(method, path, url);
  const bodyFault = reply.status === 200 ? faults.forBody() : null;
  return write(req, res, reply, bodyFault, faults.slowBodyMs);
}

/** null when the bearer token is acceptable for this tenant, else the 401 to answer. */
function authenticate(req: IncomingMessage, parts: ServerParts, tenant: string): Reply | null {
  const ctx = parts.tokenContext;
  const challenge = {
    "WWW-Authenticate": `Bearer authorization_uri="${ctx.origin}/${ctx.tenantId}/oauth2/authorize", resource_id="${ctx.audience}", error="invalid_token"`,
  };
  const deny = (message: string, code = "Unauthorized") =>
    afError(401, code, `Authorization has been denied for this request. ${message}`, challenge);
  const header = req.headers.authorization ?? "";
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  if (!m) return deny("No bearer token in the Authorization header.");
  const verified = parts.signer.verify(m[1]);
  if ("reason" in verified) return deny(verified.reason);
  const claims = verified.claims;
  if (!sameAudience(claims.aud, ctx.audience))
    return deny(`The token audience '${claims.aud}' is not '${ctx.audience}'.`);
  if (claims.tid.toLowerCase() !== tenant.toLowerCase())
    return afError(
      401,
      "AF20010",
      `The tenant ID passed in the URL (${tenant}) does not match the tenant ID passed in the access token (${claims.tid}).`,
      challenge,
    );
  if (!claims.roles.includes(ACTIVITY_FEED_READ))
    return afError(
      401,
      "AF10001",
      `The permission set (${claims.roles.join(",")}) sent in the request did not include the expected permission ${ACTIVITY_FEED_READ}.`,
      challenge,
    );
  return null;
}

function throttled(parts: ServerParts, publisherKey: string, path: string, waitMs: number): Reply {
  const { options, faults } = parts;
  const status =
    options.throttleStatus === "mixed" ? (faults.coin() ? 403 : 429) : options.throttleStatus;
  const method = path.startsWith("audit/")
    ? "GetBlob"
    : path === "subscriptions/content"
      ? "ListContent"
      : "Subscriptions";
  const headers: Record<string, string> = options.retryAfter
    ? { "Retry-After": String(Math.max(1, Math.ceil(waitMs / 1000))) }
    : {};
  return afError(
    status,
    "AF429",
    `Too many requests. Method=${method}, PublisherId=${publisherKey}`,
    headers,
  );
}

/** Writes a reply, cutting it off midway or letting it trickle when a body fault says so. */
async function write(
  req: IncomingMessage,
  res: ServerResponse,
  reply: Reply,
  fault: "truncate" | "slowBody" | null,
  slowMs: number,
): Promise<void> {
  const body = reply.body ?? "";
  const headers = { ...reply.headers };
  if (typeof body === "string") {
    const bytes = Buffer.from(body, "utf8");
    headers["Content-Length"] = String(bytes.length);
    res.writeHead(reply.status, headers);
    if (fault === "truncate") {
      res.write(bytes.subarray(0, Math.floor(bytes.length / 2)));
      return cutOff(req, res);
    }
    if (fault === "slowBody") {
      // The whole body takes slowMs, however small it is.
      const pieces = Math.max(1, Math.min(10, bytes.length));
      const size = Math.ceil(bytes.length / pieces);
      res.flushHeaders();
      for (let i = 0; i < bytes.length; i += size) {
        await sleep(slowMs / pieces);
        if (!(await send(res, bytes.subarray(i, i + size)))) return;
      }
      res.end();
      return;
    }
    res.end(bytes);
    return;
  }
  res.writeHead(reply.status, headers);
  const startedMs = Date.now();
  if (fault === "slowBody") res.flushHeaders();
  let index = 0;
  for (const chunk of body) {
    if (fault === "truncate") {
      res.write(chunk.slice(0, Math.floor(chunk.length / 2)));
      return cutOff(req, res);
    }
    if (fault === "slowBody" && index++ < 10) await sleep(slowMs / 10);
    if (!(await send(res, chunk))) return;
  }
  // A slow body is not complete before slowMs, whatever its number of chunks.
  if (fault === "slowBody") await sleep(Math.max(0, slowMs - (Date.now() - startedMs)));
  res.end();
}

/** Flushes what was written, then drops the connection without finishing the body. */
async function cutOff(req: IncomingMessage, res: ServerResponse): Promise<void> {
  await new Promise<void>((resolve) => res.write("", () => resolve()));
  req.socket.destroy();
}

/** Writes with backpressure; false when the client went away. */
function send(res: ServerResponse, chunk: string | Buffer): Promise<boolean> {
  if (res.destroyed) return Promise.resolve(false);
  if (res.write(chunk)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      res.off("drain", onDrain);
      res.off("close", onClose);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    res.once("drain", onDrain);
    res.once("close", onClose);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
