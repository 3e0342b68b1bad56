/**
 * The Microsoft Graph audit log query API under /graph/{v1.0|beta}/security/auditLog/queries,
 * written from Microsoft's Graph docs (learn.microsoft.com/graph/api/resources/security-auditlogquery,
 * security-auditcoreroot-post-auditlogqueries, security-auditlogquery-get,
 * security-auditlogquery-list-records, resources/security-auditlogrecord, and
 * graph/throttling-limits#security-audit-log-query-service-limits). It serves the same synthetic
 * tenant as the Activity API: the same events, as Graph auditLogRecords whose auditData is the
 * record the Activity API serves.
 *
 * What the docs leave open, and this emulator decides (see emulator/README.md): the filter's start
 * is inclusive and its end exclusive; a query's result is the records available when it was
 * submitted; /records of a query that has not succeeded answers 400.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { EmulatorClock } from "./clock";
import { json, readBody, type Reply } from "./http";
import type { ResolvedOptions } from "./options";
import { Quota } from "./quota";
import { Random } from "./random";
import type { Tenant, TenantEvent } from "./tenant/generator";
import { powerAppsRecord } from "./tenant/records";
import { AUDIT_LOGS_QUERY_READ_ALL, sameAudience, type TokenSigner } from "./tokens";

/** Where Graph lives on this server: its audience and root are `${origin}${GRAPH_PREFIX}`. */
export const GRAPH_PREFIX = "/graph";

const DAY = 86_400_000;
const QUERIES = /^\/graph\/(v1\.0|beta)\/security\/auditLog\/queries(?:\/([^/]+)(\/records)?)?\/?$/;

type QueryStatus = "notStarted" | "running" | "succeeded" | "failed" | "cancelled";

interface Query {
  id: string;
  displayName: string | null;
  filterStartDateTime: string | null;
  filterEndDateTime: string | null;
  operationFilters: string[];
  recordTypeFilters: string[];
  submittedMs: number;
  /** Simulated ms from submission to its final status. */
  runMs: number;
  polls: number;
  fails: boolean;
  /** The matching records, fixed at submission (what the index held then), at most the limit. */
  events: TenantEvent[];
  matched: number;
}

export interface GraphCounters {
  graphRequests: number;
  graphThrottled: number;
  queriesSubmitted: number;
  /** Submissions refused by the per-24-hours or the concurrent-queries limit. */
  queriesRefused: number;
  /** Of those, refused by the submissions per 24 hours. */
  queriesRefusedPer24Hours: number;
  /** The most queries queued or running at once (counted at each submission). */
  peakQueriesInFlight: number;
  /** Simulated run time of every query submitted, summed (their mean: / queriesSubmitted). */
  queryRunMsTotal: number;
  recordPagesServed: number;
  graphRecordsServed: number;
  /** Requests that reached Graph through another host name than 127.0.0.1 (see foreignNextLink). */
  foreignHostRequests: number;
}

/** An accepted query as a test sees it: its filters and when it was submitted. */
export interface GraphSubmission {
  id: string;
  filterStartDateTime: string | null;
  filterEndDateTime: string | null;
  submittedAt: string;
  runMs: number;
}

export interface GraphAuthContext {
  signer: TokenSigner;
  audience: string;
  tenantId: string;
}

export class GraphAuditLog {
  readonly counters: GraphCounters = {
    graphRequests: 0,
    graphThrottled: 0,
    queriesSubmitted: 0,
    queriesRefused: 0,
    queriesRefusedPer24Hours: 0,
    peakQueriesInFlight: 0,
    queryRunMsTotal: 0,
    recordPagesServed: 0,
    graphRecordsServed: 0,
    foreignHostRequests: 0,
  };
  private readonly queries = new Map<string, Query>();
  private readonly submissions: number[] = [];
  private readonly quota: Quota;
  /** Events sorted by time, so a query's records come back in time order. */
  private readonly events: TenantEvent[];

  constructor(
    private readonly origin: string,
    tenant: Tenant,
    private readonly clock: EmulatorClock,
    private readonly options: ResolvedOptions,
    private readonly auth: GraphAuthContext,
  ) {
    this.quota = new Quota(options.graph.requestsPerMinute, options.graph.requestsPerMinute);
    this.events = [...tenant.events].sort((a, b) => a.timeMs - b.timeMs || cmp(a.id, b.id));
  }

  /** Every query accepted so far, in submission order. */
  submitted(): GraphSubmission[] {
    return [...this.queries.values()].map((q) => ({
      id: q.id,
      filterStartDateTime: q.filterStartDateTime,
      filterEndDateTime: q.filterEndDateTime,
      submittedAt: new Date(q.submittedMs).toISOString(),
      runMs: q.runMs,
    }));
  }

  /** Graph's audience and root URL on this server (scope `${audience}/.default`). */
  get audience(): string {
    return `${this.origin}${GRAPH_PREFIX}`;
  }

  async handle(req: IncomingMessage, url: URL, method: string): Promise<Reply> {
    this.counters.graphRequests++;
    if (!(req.headers.host ?? "").startsWith("127.0.0.1")) this.counters.foreignHostRequests++;
    const denied = this.authenticate(req);
    if (denied) return denied;
    // GCC High and DoD: the service has no auditLog segment at all (microsoft/coe-starter-kit#10118).
    if (!this.options.graph.available)
      return graphError(400, "BadRequest", "Resource not found for the segment 'auditLog'.");
    const wait = this.quota.take(this.auth.tenantId);
    if (wait > 0) {
      this.counters.graphThrottled++;
      return graphError(
        429,
        "TooManyRequests",
        "Too many requests. Please try again later.",
        retryAfter(wait),
      );
    }
    const m = QUERIES.exec(url.pathname);
    if (!m)
      return graphError(
        400,
        "BadRequest",
        `Resource not found for the segment '${lastSegment(url)}'.`,
      );
    const [, version, id, records] = m;
    if (!id) {
      if (method === "POST") return this.submit(await readBody(req), version);
      if (method === "GET") return this.list(version);
      return notAllowed(method);
    }
    if (method !== "GET") return notAllowed(method);
    const query = this.queries.get(decodeURIComponent(id));
    if (!query) return graphError(404, "NotFound", `The audit log query '${id}' was not found.`);
    return records ? this.records(query, url, version) : this.get(query, version);
  }

  /** null when the bearer token is a Graph token of this tenant with AuditLogsQuery.Read.All. */
  private authenticate(req: IncomingMessage): Reply | null {
    const roles = graphTokenRoles(req, this.origin, this.auth);
    if (!Array.isArray(roles)) return roles;
    if (!roles.includes(AUDIT_LOGS_QUERY_READ_ALL))
      return graphError(
        403,
        "Forbidden",
        `Missing application permission: one of AuditLogsQuery.Read.All or a workload's AuditLogsQuery-*.Read.All is required (the token has: ${roles.join(", ") || "none"}).`,
      );
    return null;
  }

  private submit(bodyText: string, version: string): Reply {
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(bodyText) as Record<string, unknown>;
      if (!body || typeof body !== "object" || Array.isArray(body))
        throw new Error("not an object");
    } catch {
      return graphError(400, "BadRequest", "The request body must be a JSON auditLogQuery object.");
    }
    const start = optionalTime(body.filterStartDateTime);
    const end = optionalTime(body.filterEndDateTime);
    if (start === "invalid" || end === "invalid")
      return graphError(
        400,
        "BadRequest",
        "filterStartDateTime and filterEndDateTime must be DateTimeOffset values, e.g. 2026-05-19T00:00:00Z.",
      );
    if (start !== null && end !== null && start >= end)
      return graphError(400, "BadRequest", "filterStartDateTime must be before filterEndDateTime.");
    const operations = stringList(body.operationFilters);
    const recordTypes = stringList(body.recordTypeFilters);
    if (operations === "invalid" || recordTypes === "invalid")
      return graphError(
        400,
        "BadRequest",
        "operationFilters and recordTypeFilters must be string collections.",
      );

    const nowMs = this.clock.now().getTime();
    const { graph } = this.options;
    while (this.submissions.length > 0 && this.submissions[0] <= nowMs - DAY)
      this.submissions.shift();
    if (this.submissions.length >= graph.queriesPer24Hours) {
      this.counters.queriesRefused++;
      this.counters.queriesRefusedPer24Hours++;
      return graphError(
        429,
        "TooManyRequests",
        `The tenant has submitted ${this.submissions.length} audit log queries in the last 24 hours, its limit.`,
        retryAfter(this.submissions[0] + DAY - nowMs),
      );
    }
    const unfinished = [...this.queries.values()].filter((q) => !isFinal(this.status(q)));
    if (unfinished.length >= graph.maxConcurrentQueries) {
      this.counters.queriesRefused++;
      // Retry once the first of them ends, on the simulated clock.
      const firstEnd = Math.min(...unfinished.map((q) => q.submittedMs + q.runMs));
      return graphError(
        429,
        "TooManyRequests",
        `The tenant has ${unfinished.length} audit log queries queued or running, its limit.`,
        retryAfter(firstEnd - nowMs),
      );
    }
    this.submissions.push(nowMs);
    this.counters.queriesSubmitted++;
    this.counters.peakQueriesInFlight = Math.max(
      this.counters.peakQueriesInFlight,
      unfinished.length + 1,
    );

    const oldest = nowMs - graph.retentionDays * DAY;
    const from = Math.max(start ?? -Infinity, oldest);
    const to = end ?? Infinity;
    const wanted = new Set(operations.map((o) => o.toLowerCase()));
    const types = new Set(recordTypes.map((t) => t.toLowerCase()));
    const matching = this.events.filter(
      (e) =>
        e.timeMs >= from &&
        e.timeMs < to &&
        e.availableAtMs <= nowMs &&
        (wanted.size === 0 || wanted.has(e.operation.toLowerCase())) &&
        (types.size === 0 || types.has(recordType(e).toLowerCase())),
    );
    const query: Query = {
      id: randomUUID(),
      displayName: typeof body.displayName === "string" ? body.displayName : null,
      filterStartDateTime: start === null ? null : new Date(start).toISOString(),
      filterEndDateTime: end === null ? null : new Date(end).toISOString(),
      operationFilters: operations,
      recordTypeFilters: recordTypes,
      submittedMs: nowMs,
      runMs: this.runTime(start, end, operations, recordTypes),
      polls: 0,
      fails: this.counters.queriesSubmitted <= graph.failQueries,
      events: matching.slice(0, graph.recordCountLimit),
      matched: matching.length,
    };
    this.queries.set(query.id, query);
    this.counters.queryRunMsTotal += query.runMs;
    return json(201, this.resource(query, version));
  }

  private list(version: string): Reply {
    return json(200, {
      "@odata.context": `${this.audience}/${version}/$metadata#security/auditLog/queries`,
      value: [...this.queries.values()].map((q) => this.resource(q, version, false)),
    });
  }

  private get(query: Query, version: string): Reply {
    query.polls++;
    return json(200, this.resource(query, version));
  }

  private records(query: Query, url: URL, version: string): Reply {
    if (this.status(query) !== "succeeded")
      return graphError(
        400,
        "BadRequest",
        `The audit log query '${query.id}' has status '${this.status(query)}'; records are served once it has succeeded.`,
      );
    const top = Number(url.searchParams.get("$top") ?? this.options.graph.pageSize);
    const size =
      Number.isInteger(top) && top > 0
        ? Math.min(top, this.options.graph.pageSize)
        : this.options.graph.pageSize;
    const skip = Number(url.searchParams.get("$skiptoken") ?? "0");
    if (!Number.isInteger(skip) || skip < 0 || skip > query.events.length)
      return graphError(400, "BadRequest", "The $skiptoken is not valid.");
    const page = query.events.slice(skip, skip + size);
    this.counters.recordPagesServed++;
    this.counters.graphRecordsServed += page.length;
    const root = this.options.graph.foreignNextLink
      ? this.audience.replace("//127.0.0.1:", "//localhost:")
      : this.audience;
    const base = `${root}/${version}/security/auditLog/queries/${query.id}/records`;
    const next =
      skip + size < query.events.length
        ? `${base}?$top=${size}&$skiptoken=${skip + size}`
        : undefined;
    return json(200, {
      "@odata.context": `${this.audience}/${version}/$metadata#security/auditLog/queries('${query.id}')/records`,
      value: page.map((e) => this.record(e)),
      ...(next ? { "@odata.nextLink": next } : {}),
    });
  }

  /**
   * A query's run time: minutes, as real queries take, varying from query to query but the same
   * for the same filters (a hash of the seed and the filters), so that a backfill run twice, one
   * query at a time or many at once, meets the same run times.
   */
  private runTime(
    start: number | null,
    end: number | null,
    operations: string[],
    recordTypes: string[],
  ): number {
    const { queryRunMs, queryRunSpread } = this.options.graph;
    const key = [start, end, operations.join(","), recordTypes.join(",")].join("|");
    const u = new Random(this.options.seed, `graph-query-run/${key}`).next();
    return Math.round(queryRunMs * (1 + queryRunSpread * (2 * u - 1)));
  }

  /** A query moves on with the simulated clock, and a little with every poll. */
  private status(q: Query): QueryStatus {
    const { pollProgressMs } = this.options.graph;
    const progress = this.clock.now().getTime() - q.submittedMs + q.polls * pollProgressMs;
    if (progress < q.runMs / 3) return "notStarted";
    if (progress < q.runMs) return "running";
    return q.fails ? "failed" : "succeeded";
  }

  private resource(q: Query, version: string, withContext = true): Record<string, unknown> {
    const status = this.status(q);
    const done = status === "succeeded";
    return {
      ...(withContext
        ? {
            "@odata.context": `${this.audience}/${version}/$metadata#security/auditLog/queries/$entity`,
          }
        : {}),
      "@odata.type": "#microsoft.graph.security.auditLogQuery",
      id: q.id,
      displayName: q.displayName,
      filterStartDateTime: q.filterStartDateTime,
      filterEndDateTime: q.filterEndDateTime,
      recordTypeFilters: q.recordTypeFilters,
      keywordFilter: null,
      serviceFilters: [],
      operationFilters: q.operationFilters,
      userPrincipalNameFilters: [],
      ipAddressFilters: [],
      objectIdFilters: [],
      administrativeUnitIdFilters: [],
      status,
      approximateReturnedRecordCount: done ? q.matched : 0,
      isRecordCountLimitExceeded: done && q.matched > this.options.graph.recordCountLimit,
      recordCountLimit: this.options.graph.recordCountLimit,
    };
  }

  /** An auditLogRecord: the common properties, and auditData = the Activity API's record. */
  private record(e: TenantEvent): Record<string, unknown> {
    const auditData = powerAppsRecord(e, this.options.seed);
    return {
      "@odata.type": "#microsoft.graph.security.auditLogRecord",
      id: e.id,
      createdDateTime: new Date(e.timeMs).toISOString(),
      auditLogRecordType: recordType(e),
      operation: e.operation,
      organizationId: e.organizationId,
      userType: "regular",
      userId: e.upn,
      userPrincipalName: e.upn,
      service: auditData.Workload,
      objectId: e.appId,
      clientIp: null,
      administrativeUnits: [],
      auditData: { "@odata.type": "#microsoft.graph.security.defaultAuditData", ...auditData },
    };
  }
}

/**
 * The record type enum's name: powerAppsApp for RecordType 45. RecordType 256 has no member in
 * the documented enum, and Graph answers unknownFutureValue for members a client has not opted into.
 */
function recordType(e: TenantEvent): string {
  return e.legacy ? "powerAppsApp" : "unknownFutureValue";
}

function isFinal(status: QueryStatus): boolean {
  return status === "succeeded" || status === "failed" || status === "cancelled";
}

/**
 * The roles of the request's bearer token when it is a valid Graph token of this tenant, else
 * Graph's 401 answer (with the WWW-Authenticate challenge Graph sends).
 */
export function graphTokenRoles(
  req: IncomingMessage,
  origin: string,
  auth: GraphAuthContext,
): string[] | Reply {
  const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "");
  const unauthenticated = (message: string) =>
    graphError(401, "InvalidAuthenticationToken", message, {
      "WWW-Authenticate": `Bearer realm="", authorization_uri="${origin}/${auth.tenantId}/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`,
    });
  if (!m) return unauthenticated("Access token is empty.");
  const verified = auth.signer.verify(m[1]);
  if ("reason" in verified) return unauthenticated(verified.reason);
  const { claims } = verified;
  if (!sameAudience(claims.aud, auth.audience))
    return unauthenticated(`Invalid audience '${claims.aud}': expected '${auth.audience}'.`);
  if (claims.tid.toLowerCase() !== auth.tenantId.toLowerCase())
    return unauthenticated("The token belongs to another tenant.");
  return claims.roles;
}

/** Graph's error shape: {"error":{"code","message","innerError":{date, request-id, client-request-id}}}. */
export function graphError(
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): Reply {
  const requestId = randomUUID();
  return json(
    status,
    {
      error: {
        code,
        message,
        innerError: {
          date: new Date().toISOString().slice(0, 19),
          "request-id": requestId,
          "client-request-id": requestId,
        },
      },
    },
    headers,
  );
}

/**
 * Graph's request ids on an answer ("Microsoft Graph REST API: headers"; "Error responses"): a
 * `request-id` the service makes up, and `client-request-id` echoing the client's own when it sent
 * one (else the same as request-id), in the headers and in an error's innerError, so a client's
 * log line and Microsoft support can name the same request.
 */
export function withRequestIds(req: IncomingMessage, reply: Reply): Reply {
  const requestId = randomUUID();
  const sent = req.headers["client-request-id"];
  const clientRequestId = typeof sent === "string" && sent.trim() ? sent.trim() : requestId;
  let body = reply.body;
  if (reply.status >= 400 && typeof body === "string") {
    try {
      const parsed = JSON.parse(body) as { error?: { innerError?: Record<string, string> } };
      if (parsed.error?.innerError) {
        parsed.error.innerError["request-id"] = requestId;
        parsed.error.innerError["client-request-id"] = clientRequestId;
        body = JSON.stringify(parsed);
      }
    } catch {
      // Not Graph's JSON error shape (no body to carry the ids): the headers still do.
    }
  }
  return {
    ...reply,
    headers: {
      ...reply.headers,
      "request-id": requestId,
      "client-request-id": clientRequestId,
    },
    body,
  };
}

function retryAfter(ms: number): Record<string, string> {
  return { "Retry-After": String(Math.max(1, Math.ceil(ms / 1000))) };
}

function notAllowed(method: string): Reply {
  return graphError(405, "Request_BadRequest", `The method '${method}' is not allowed here.`);
}

function lastSegment(url: URL): string {
  return url.pathname.split("/").filter(Boolean).pop() ?? "";
}

/** A DateTimeOffset: an ISO 8601 time with a zone (Z or ±hh:mm). */
function optionalTime(v: unknown): number | null | "invalid" {
  if (v === undefined || v === null) return null;
  if (typeof v !== "string" || !/^\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:\d{2})$/.test(v))
    return "invalid";
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? "invalid" : ms;
}

function stringList(v: unknown): string[] | "invalid" {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((s) => typeof s === "string")) return "invalid";
  return v as string[];
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
