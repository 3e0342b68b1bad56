import type { Response } from "node-fetch";
import type { TokenProvider } from "./auth";
import { bearerCall } from "./bearer-call";
import { ApiError } from "../core/errors";
import { redactUrl } from "./http/api-errors";
import { readJson, type HttpClient } from "./http/client";
import type { Interval } from "../domain/windows";
import type { OperationOptions } from "./activity-api";

/**
 * Microsoft Graph's audit log query API, v1.0 (learn.microsoft.com/graph/api/resources/
 * security-auditlogquery?view=graph-rest-1.0). It moved back to beta in April 2025 and is
 * documented in v1.0 again, with isRecordCountLimitExceeded and recordCountLimit, which the
 * runtime needs to split windows; v1.0 is the supported version for production use.
 */
export const GRAPH_VERSION = "v1.0";

/** The query statuses the docs list (auditLogQueryStatus); unknownFutureValue is not final. */
export type AuditLogQueryStatus =
  "notStarted" | "running" | "succeeded" | "failed" | "cancelled" | "unknownFutureValue";

/** The parts of an auditLogQuery the runtime reads. */
export interface AuditLogQuery {
  id: string;
  status: AuditLogQueryStatus;
  /** true: the query hit its record-count limit and returned only part of the window. */
  isRecordCountLimitExceeded?: boolean;
  approximateReturnedRecordCount?: number;
  recordCountLimit?: number;
}

export interface GraphAuditApiOptions {
  /** Graph root, e.g. https://graph.microsoft.com (also the token audience). */
  endpoint: string;
  http: HttpClient;
  tokens: TokenProvider;
}

/** Record pages are followed at most this many times per query: a loop guard. */
const MAX_PAGES = 100_000;

/**
 * Create a query (POST /security/auditLog/queries), read it (GET …/queries/{id}) and its records
 * (GET …/queries/{id}/records, following @odata.nextLink). A 401 renews the token once; each
 * operation is retried as a whole under the HTTP client's policy (429 Retry-After wins).
 */
export class GraphAuditApi {
  private readonly base: string;
  private readonly origin: string;
  constructor(private readonly options: GraphAuditApiOptions) {
    this.base = `${options.endpoint}/${GRAPH_VERSION}/security/auditLog/queries`;
    this.origin = new URL(options.endpoint).origin;
  }

  /**
   * Submits a query for records created in [from, to) with these operations. Sent once, never
   * retried here: any attempt Graph may have taken spends one of the tenant's submissions per 24
   * hours, so the caller counts each attempt against its budget and decides whether to try again
   * (a 429 answers with ThrottledError and its Retry-After). A 401 still renews the token once.
   */
  async createQuery(
    window: Interval,
    operations: readonly string[],
    options: OperationOptions = {},
  ): Promise<AuditLogQuery> {
    const body = JSON.stringify({
      "@odata.type": "#microsoft.graph.security.auditLogQuery",
      displayName: `coe-audit-sync ${window.from.toISOString()}/${window.to.toISOString()}`,
      filterStartDateTime: window.from.toISOString(),
      filterEndDateTime: window.to.toISOString(),
      operationFilters: [...operations],
    });
    return this.call(
      "create audit log query",
      this.base,
      "POST",
      body,
      options,
      (r) => readQuery(r, this.base),
      () => false,
    );
  }

  async getQuery(id: string, options: OperationOptions = {}): Promise<AuditLogQuery> {
    const url = `${this.base}/${encodeURIComponent(id)}`;
    return this.call("get audit log query", url, "GET", undefined, options, (r) =>
      readQuery(r, url),
    );
  }

  /** The query's records, one page at a time, until a page has no @odata.nextLink. */
  async *listRecords(id: string, options: OperationOptions = {}): AsyncGenerator<unknown[]> {
    let url: string | undefined = `${this.base}/${encodeURIComponent(id)}/records`;
    const seen = new Set<string>();
    for (let page = 0; url; page++) {
      if (page >= MAX_PAGES || seen.has(url)) {
        throw new ApiError({
          status: 200,
          url: redactUrl(url),
          message: `The records of audit log query ${id} did not end after ${page} pages (@odata.nextLink repeats). The pass stops without advancing the checkpoint.`,
        });
      }
      seen.add(url);
      const current: string = url;
      const { value, next } = await this.call(
        "list audit log records",
        current,
        "GET",
        undefined,
        options,
        async (r) => {
          const body = (await readJson(r, current)) as {
            value?: unknown;
            "@odata.nextLink"?: unknown;
          };
          if (!body || !Array.isArray(body.value)) throw unexpected(current, "a record collection");
          const link = body["@odata.nextLink"];
          return { value: body.value as unknown[], next: typeof link === "string" ? link : "" };
        },
      );
      yield value;
      url = next.trim() ? this.ownUrl(next.trim()) : undefined;
    }
  }

  /**
   * The token goes with every call, so a next link is followed only when it is https on Graph's
   * own origin: an answer pointing elsewhere is refused before anything is sent there.
   */
  private ownUrl(uri: string): string {
    let u: URL | undefined;
    try {
      u = new URL(uri);
    } catch {
      u = undefined;
    }
    if (!u || u.origin !== this.origin) {
      throw new ApiError({
        status: 200,
        url: u ? redactUrl(uri) : "(invalid url)",
        message: `Microsoft Graph answered an @odata.nextLink that is not on ${this.origin}; it is refused and no token is sent there. Check AUDIT_GRAPH_ENDPOINT and that no proxy rewrites the answers.`,
      });
    }
    return u.toString();
  }

  /** One operation with the bearer token, its renewal on 401 and retries (bearerCall). */
  private call<T>(
    what: string,
    url: string,
    method: "GET" | "POST",
    body: string | undefined,
    { signal }: OperationOptions,
    handle: (response: Response) => Promise<T>,
    retryable?: (err: unknown) => boolean,
  ): Promise<T> {
    const { http, tokens } = this.options;
    return bearerCall(
      http,
      tokens,
      what,
      { url, method, body, signal, retryable },
      handle,
      explain,
    );
  }
}

/**
 * Graph's answers that need the operator: the permission, and the cloud without the API. Others
 * (429, 5xx, transport) pass through unchanged so the retry policy sees them.
 */
function explain(err: unknown): unknown {
  if (!(err instanceof ApiError)) return err;
  if (err.status === 403) {
    return new ApiError(
      {
        status: 403,
        url: err.url,
        message: `Microsoft Graph refused the audit log query (HTTP 403): the app needs the application permission AuditLogsQuery.Read.All on Microsoft Graph with admin consent. Run \`pulumi up\` with \`source: graph\` (it declares and grants it) or grant it in Entra ID (App registrations > API permissions). ${err.message}`,
      },
      { cause: err },
    );
  }
  if (err.status === 400 && /segment 'auditLog'/i.test(err.message)) {
    return new ApiError(
      {
        status: 400,
        url: err.url,
        message:
          "Microsoft Graph has no audit log query API in this cloud (\"Resource not found for the segment 'auditLog'\"): it is offered in the global service (commercial, GCC) only. Set AUDIT_SOURCE=managementApi.",
      },
      { cause: err },
    );
  }
  return err;
}

async function readQuery(r: Response, url: string): Promise<AuditLogQuery> {
  const body = (await readJson(r, url)) as Partial<AuditLogQuery> | null;
  if (!body || typeof body.id !== "string" || typeof body.status !== "string")
    throw unexpected(url, "an auditLogQuery with id and status");
  return body as AuditLogQuery;
}

function unexpected(url: string, what: string): ApiError {
  return new ApiError({
    status: 200,
    url: redactUrl(url),
    message: `The answer from ${new URL(url).pathname} is not ${what}. Check AUDIT_GRAPH_ENDPOINT points at Microsoft Graph.`,
  });
}
