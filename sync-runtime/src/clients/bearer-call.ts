import type { Response } from "node-fetch";
import type { TokenProvider } from "./auth";
import { ApiError } from "../core/errors";
import type { HttpClient } from "./http/client";

export interface BearerRequest {
  url: string;
  method: "GET" | "POST";
  /** Sent as JSON when given (an empty POST sends ""). */
  body?: string;
  signal?: AbortSignal;
  /** Which failures the HTTP client retries. Default: its own (throttling, 5xx, transport). */
  retryable?: (err: unknown) => boolean;
}

/**
 * One API operation with a bearer token: token, request, a single token renewal on 401, body
 * handling; all of it retried by the HTTP client's policy. `explain` may reword a failed
 * request's error (not the handler's) for the operator; it must keep retryable errors as they are.
 */
export function bearerCall<T>(
  http: HttpClient,
  tokens: TokenProvider,
  what: string,
  { url, method, body, signal, retryable }: BearerRequest,
  handle: (response: Response) => Promise<T>,
  explain: (err: unknown) => unknown = (err) => err,
): Promise<T> {
  return http.retrying(
    what,
    async () => {
      const send = async (fresh: boolean) =>
        http.send(url, {
          method,
          signal,
          headers: {
            Authorization: `Bearer ${await tokens.getToken({ fresh, signal })}`,
            Accept: "application/json",
            ...(body !== undefined ? { "Content-Type": "application/json" } : {}),
          },
          body,
        });
      let response: Response;
      try {
        response = await send(false);
      } catch (err) {
        if (!(err instanceof ApiError) || err.status !== 401) throw explain(err);
        // The cached token may have expired early or been revoked: renew once, then give up.
        response = await send(true).catch((e: unknown) => {
          throw explain(e);
        });
      }
      return handle(response);
    },
    { signal, retryable },
  );
}
