import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from "@azure/msal-node";
import { redactUrl } from "./api-errors";
import { TransportError } from "../../core/errors";
import type { HttpClient } from "./client";

/**
 * msal-node's network module on top of the runtime's HTTP client, so token calls use the same
 * https.Agent (and so the same trusted CA) as API calls. msal interprets 4xx answers itself
 * (they are handed back as-is); network failures and outages throw and are retried by auth.ts.
 */
export function msalNetworkModule(http: HttpClient): INetworkModule {
  const call = async <T>(
    method: "GET" | "POST",
    url: string,
    options?: NetworkRequestOptions,
  ): Promise<NetworkResponse<T>> => {
    const response = await http.send(url, {
      method,
      headers: options?.headers,
      body: options?.body,
      unlimited: true,
      acceptAnyStatus: true,
    });
    const text = await response.text();
    if (response.status >= 500 || response.status === 429) {
      // msal caches a 5xx/429 answer as "throttled" and replays it for 60 s without calling the
      // endpoint again, which would defeat the runtime's own backoff. Surface it as a transport
      // failure instead: msal does not cache those, and the retry policy handles them.
      throw new TransportError(
        redactUrl(url),
        `The token endpoint answered HTTP ${response.status} (${describeTokenError(text)}); it is retried.`,
      );
    }
    const headers: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      headers[name.toLowerCase()] = value;
    });
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : {};
    } catch {
      body = { error: "invalid_response", error_description: text.slice(0, 200) };
    }
    return { headers, body: body as T, status: response.status };
  };
  return {
    sendGetRequestAsync: (url, options) => call("GET", url, options),
    sendPostRequestAsync: (url, options) => call("POST", url, options),
  };
}

function describeTokenError(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: unknown; error_description?: unknown };
    const description =
      typeof body.error_description === "string" ? body.error_description.split("\n")[0] : "";
    return [body.error, description].filter(Boolean).join(": ").slice(0, 200) || "no details";
  } catch {
    return "no details";
  }
}
