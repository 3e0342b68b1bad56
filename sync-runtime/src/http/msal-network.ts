import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from "@azure/msal-node";
import type { HttpClient } from "./client";

/**
 * msal-node's network module on top of the runtime's HTTP client, so token calls use the same
 * https.Agent (and so the same trusted CA) as API calls. msal interprets error statuses itself,
 * so every answer is handed back as-is; network failures throw and msal reports them.
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
