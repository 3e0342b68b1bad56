import type { TokenProvider } from "./auth";
import { bearerCall } from "./bearer-call";
import { ApiError } from "../core/errors";
import { redactUrl } from "./http/api-errors";
import { readJson, type HttpClient } from "./http/client";
import { coeUserOf, USER_PROPERTIES, type CoeUser } from "../domain/coe-rows";
import { GRAPH_VERSION } from "./graph-audit";

/** Requests one JSON batch may hold (learn.microsoft.com/graph/json-batching). */
export const GRAPH_BATCH_LIMIT = 20;

export interface GraphUsersApiOptions {
  /** Graph root, e.g. https://graph.microsoft.com (also the token audience). */
  endpoint: string;
  http: HttpClient;
  tokens: TokenProvider;
}

interface BatchResponse {
  id?: unknown;
  status?: unknown;
  body?: unknown;
}

/**
 * Microsoft Graph's users (learn.microsoft.com/graph/api/user-get), read through JSON batching:
 * one POST /$batch per 20 users, each a GET /users/{id} with the `$select` the audit rows need.
 * Needs the application permission User.Read.All.
 */
export class GraphUsersApi {
  private readonly url: string;
  constructor(private readonly options: GraphUsersApiOptions) {
    this.url = `${options.endpoint}/${GRAPH_VERSION}/$batch`;
  }

  /**
   * The users by object id (as given): their details, or null for a user Graph does not know
   * (404: deleted from Entra ID). Any other answer for a user fails the whole read with an
   * ApiError naming it, so that nothing wrong is cached.
   *
   * A 403 is asked again once with a new token: an app-only token carries the app roles granted
   * when it was issued, so one from before User.Read.All's admin consent keeps being refused after
   * the consent took effect, until it is renewed (learn.microsoft.com/entra/identity-platform,
   * "Access tokens": the `roles` claim).
   */
  async getUsers(ids: string[], signal?: AbortSignal): Promise<Map<string, CoeUser | null>> {
    const found = new Map<string, CoeUser | null>();
    let renewed = false;
    for (let i = 0; i < ids.length; i += GRAPH_BATCH_LIMIT) {
      signal?.throwIfAborted();
      const slice = ids.slice(i, i + GRAPH_BATCH_LIMIT);
      let users: Map<string, CoeUser | null>;
      try {
        users = await this.readBatch(slice, this.options.tokens, signal);
      } catch (err) {
        if (renewed || !(err instanceof ApiError) || err.status !== 403) throw err;
        renewed = true;
        const fresh: TokenProvider = {
          getToken: (o) => this.options.tokens.getToken({ ...o, fresh: true }),
        };
        users = await this.readBatch(slice, fresh, signal);
      }
      for (const [id, user] of users) found.set(id, user);
    }
    return found;
  }

  /** One JSON batch of at most GRAPH_BATCH_LIMIT users. */
  private async readBatch(
    slice: string[],
    tokens: TokenProvider,
    signal: AbortSignal | undefined,
  ): Promise<Map<string, CoeUser | null>> {
    const body = JSON.stringify({
      requests: slice.map((id, k) => ({
        id: String(k),
        method: "GET",
        url: `/users/${encodeURIComponent(id)}?$select=${USER_PROPERTIES.join(",")}`,
      })),
    });
    const responses = await bearerCall(
      this.options.http,
      tokens,
      "read users",
      { url: this.url, method: "POST", body, signal },
      async (r) => {
        const answer = (await readJson(r, this.url)) as { responses?: unknown } | null;
        if (!answer || !Array.isArray(answer.responses))
          throw new ApiError({
            status: 200,
            url: redactUrl(this.url),
            message:
              "The answer from /$batch is not a JSON batch response. Check AUDIT_GRAPH_USERS_ENDPOINT points at Microsoft Graph.",
          });
        return answer.responses as BatchResponse[];
      },
      explain,
    );
    const byId = new Map(responses.map((r) => [String(r.id), r]));
    return new Map(slice.map((id, k) => [id, userOf(id, byId.get(String(k)), this.url)]));
  }
}

/** One response of the batch as a user, null (not found), or the failure it reports. */
function userOf(id: string, r: BatchResponse | undefined, url: string): CoeUser | null {
  const status = typeof r?.status === "number" ? r.status : 0;
  if (status === 200 && r?.body && typeof r.body === "object")
    return coeUserOf(r.body as Record<string, unknown>);
  if (status === 404) return null;
  const error = (r?.body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  const detail =
    typeof error?.message === "string" ? ` ${String(error.code ?? "")}: ${error.message}` : "";
  throw explain(
    new ApiError({
      status: status || 200,
      url: redactUrl(url),
      message: `Microsoft Graph did not answer user ${id} in the batch (HTTP ${status || "none"}).${detail}`,
    }),
  );
}

/** A 403 needs the operator: the permission. Others pass through for the retry policy. */
function explain(err: unknown): unknown {
  if (!(err instanceof ApiError) || err.status !== 403) return err;
  return new ApiError(
    {
      status: 403,
      url: err.url,
      message: `Microsoft Graph refused to read users (HTTP 403): the app needs the application permission User.Read.All on Microsoft Graph with admin consent. Run \`pulumi up\` with \`dataverseUserDetails: true\` (it grants it), or set AUDIT_DATAVERSE_USER_DETAILS=false. ${err.message}`,
    },
    { cause: err },
  );
}
