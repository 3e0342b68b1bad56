/**
 * Microsoft Graph's users, as far as the Dataverse sink reads them: GET /{v1.0|beta}/users/{id}
 * with `$select` (learn.microsoft.com/graph/api/user-get, resources/user) and JSON batching,
 * POST /{v1.0|beta}/$batch with at most 20 requests (learn.microsoft.com/graph/json-batching),
 * each answered on its own inside the batch's 200. Reading another user's profile needs the
 * application permission User.Read.All: without it each request answers 403
 * Authorization_RequestDenied; a user deleted from Entra ID answers 404 Request_ResourceNotFound.
 */
import type { IncomingMessage } from "node:http";
import { graphError, graphTokenRoles, type GraphAuthContext } from "./graph-audit";
import { json, readBody, type Reply } from "./http";
import type { Tenant, User } from "./tenant/generator";
import { USER_READ_ALL } from "./tokens";

/** The paths this serves, below GRAPH_PREFIX. */
export const USERS_PATH = /^\/graph\/(v1\.0|beta)\/(?:users\/([^/?]+)|\$batch)\/?$/;

/** Requests one JSON batch may hold (learn.microsoft.com/graph/json-batching). */
export const GRAPH_BATCH_LIMIT = 20;

/** The properties GET /users/{id} returns without `$select` (user-get, "Response"). */
const DEFAULT_PROPERTIES = [
  "businessPhones",
  "displayName",
  "givenName",
  "jobTitle",
  "mail",
  "mobilePhone",
  "officeLocation",
  "preferredLanguage",
  "surname",
  "userPrincipalName",
  "id",
];

export interface GraphUsersCounters {
  /** HTTP requests to /users/{id} and /$batch. */
  userHttpRequests: number;
  /** Of those, $batch requests. */
  userBatches: number;
  /** User reads answered, directly or inside a batch (any status). */
  userReads: number;
}

export class GraphUsers {
  readonly counters: GraphUsersCounters = { userHttpRequests: 0, userBatches: 0, userReads: 0 };
  private readonly byId: Map<string, User>;
  /** Requests still to answer 503 (an outage of the users service), set by outage(). */
  private outageRequests = 0;

  constructor(
    private readonly origin: string,
    tenant: Tenant,
    private readonly auth: GraphAuthContext,
  ) {
    this.byId = new Map(tenant.users.map((u) => [u.objectId.toLowerCase(), u]));
  }

  /** Graph's view of the users: the ones not deleted, with their profiles. */
  users(): { id: string; deleted: boolean; profile: User["profile"] }[] {
    return [...this.byId.values()].map((u) => ({
      id: u.objectId,
      deleted: u.deleted,
      profile: { ...u.profile },
    }));
  }

  /** The next `requests` requests answer 503 serviceNotAvailable, as in an outage. */
  outage(requests: number): void {
    this.outageRequests = requests;
  }

  async handle(req: IncomingMessage, url: URL, method: string): Promise<Reply> {
    this.counters.userHttpRequests++;
    if (this.outageRequests > 0) {
      this.outageRequests--;
      return graphError(
        503,
        "serviceNotAvailable",
        "The service is temporarily unavailable. Try again later.",
      );
    }
    const roles = graphTokenRoles(req, this.origin, this.auth);
    if (!Array.isArray(roles)) return roles;
    const m = USERS_PATH.exec(url.pathname)!;
    const [, version, id] = m;
    if (id) {
      if (method !== "GET")
        return graphError(405, "Request_BadRequest", `The method '${method}' is not allowed here.`);
      return this.read(decodeURIComponent(id), url.searchParams.get("$select"), version, roles);
    }
    if (method !== "POST")
      return graphError(405, "Request_BadRequest", `The method '${method}' is not allowed here.`);
    this.counters.userBatches++;
    return this.batch(await readBody(req), version, roles);
  }

  /** A JSON batch: each request answered in `responses` with its id, status, headers and body. */
  private batch(text: string, version: string, roles: string[]): Reply {
    let requests: unknown;
    try {
      requests = (JSON.parse(text) as { requests?: unknown }).requests;
    } catch {
      requests = undefined;
    }
    if (!Array.isArray(requests) || requests.length === 0)
      return graphError(400, "BadRequest", "Invalid batch payload format.");
    if (requests.length > GRAPH_BATCH_LIMIT)
      return graphError(
        400,
        "BadRequest",
        `Number of batch requests exceeds the limit of ${GRAPH_BATCH_LIMIT}.`,
      );
    const responses = (requests as Record<string, unknown>[]).map((r) => {
      const reqId = typeof r?.id === "string" ? r.id : "";
      const answer = (reply: Reply) => ({
        id: reqId,
        status: reply.status,
        headers: { "Content-Type": "application/json" },
        body: JSON.parse(typeof reply.body === "string" ? reply.body : "null") as unknown,
      });
      if (!reqId || typeof r.url !== "string")
        return answer(graphError(400, "BadRequest", "Each request needs an id and a url."));
      if ((typeof r.method === "string" ? r.method : "").toUpperCase() !== "GET")
        return answer(graphError(405, "Request_BadRequest", "Only GET of users is served here."));
      // Inside a batch, urls are relative to the version: "/users/{id}?$select=…" or "users/…".
      const inner = new URL(`/${r.url.replace(/^\//, "")}`, "https://graph.invalid");
      const um = /^\/users\/([^/]+)\/?$/.exec(inner.pathname);
      if (!um)
        return answer(
          graphError(400, "BadRequest", `Resource not found for the segment '${inner.pathname}'.`),
        );
      return answer(
        this.read(decodeURIComponent(um[1]), inner.searchParams.get("$select"), version, roles),
      );
    });
    return json(200, { responses });
  }

  /** One user, with the selected properties (the default set without `$select`). */
  private read(id: string, select: string | null, version: string, roles: string[]): Reply {
    this.counters.userReads++;
    if (!roles.includes(USER_READ_ALL))
      return graphError(
        403,
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.",
      );
    const user = this.byId.get(id.toLowerCase());
    if (!user || user.deleted)
      return graphError(
        404,
        "Request_ResourceNotFound",
        `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
      );
    const p = user.profile;
    const all: Record<string, unknown> = {
      id: user.objectId,
      userPrincipalName: user.upn,
      displayName: p.displayName,
      city: p.city,
      country: p.country,
      department: p.department,
      jobTitle: p.jobTitle,
      userType: p.userType,
      businessPhones: [],
      givenName: p.displayName.split(" ")[0],
      mail: user.upn,
      mobilePhone: null,
      officeLocation: null,
      preferredLanguage: null,
      surname: null,
    };
    const wanted = select ? select.split(",").map((s) => s.trim()) : DEFAULT_PROPERTIES;
    const body: Record<string, unknown> = {
      "@odata.context": `${this.origin}/graph/${version}/$metadata#users(${wanted.join(",")})/$entity`,
    };
    for (const key of wanted) if (key in all) body[key] = all[key];
    return json(200, body);
  }
}
