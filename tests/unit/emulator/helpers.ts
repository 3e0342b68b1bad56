/** Plain HTTPS helpers for driving the emulator in tests: real sockets, the emulator's CA only. */
import { request as httpsRequest, Agent } from "node:https";
import type { IncomingHttpHeaders } from "node:http";
import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from "@azure/msal-node";
import { startEmulator, type EmulatorOptions, type RunningEmulator } from "../../../emulator/index";

export interface HttpResult {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

const agents = new Map<string, Agent>();

function agentFor(ca: string): Agent {
  let agent = agents.get(ca);
  if (!agent) {
    agent = new Agent({ ca, keepAlive: true });
    agents.set(ca, agent);
  }
  return agent;
}

export function send(
  ca: string,
  method: string,
  url: string,
  options: { headers?: Record<string, string>; body?: string } = {},
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      { method, headers: options.headers, agent: agentFor(ca) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (d: Buffer) => chunks.push(d));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString("utf8"),
          }),
        );
        res.on("error", reject);
        res.on("aborted", () => reject(new Error("response aborted")));
      },
    );
    req.on("error", reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

export function form(values: Record<string, string>): {
  headers: Record<string, string>;
  body: string;
} {
  return {
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(values).toString(),
  };
}

/** The synthetic tenant's client-credentials form; `overrides` replace or add fields. */
export function credentials(
  emu: RunningEmulator,
  overrides: Record<string, string> = {},
): Record<string, string> {
  return {
    grant_type: "client_credentials",
    client_id: emu.tenant.clientId,
    client_secret: emu.tenant.clientSecret,
    scope: `${emu.audience}/.default`,
    ...overrides,
  };
}

/** POSTs a token request (the tenant's v2 endpoint by default) and returns the raw answer. */
export function tokenRequest(
  emu: RunningEmulator,
  values: Record<string, string>,
  path = `${emu.tenant.tenantId}/oauth2/v2.0/token`,
): Promise<HttpResult> {
  return send(emu.caCertPem, "POST", `${emu.authority}/${path}`, form(values));
}

export async function getToken(
  emu: RunningEmulator,
  scope = `${emu.audience}/.default`,
): Promise<string> {
  const res = await tokenRequest(emu, credentials(emu, { scope }));
  if (res.status !== 200) throw new Error(`token request failed: ${res.status} ${res.body}`);
  return (JSON.parse(res.body) as { access_token: string }).access_token;
}

export function feedUrl(
  emu: RunningEmulator,
  path: string,
  params: Record<string, string> = {},
  publisher = true,
): string {
  const url = new URL(`${emu.url}/api/v1.0/${emu.tenant.tenantId}/activity/feed/${path}`);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  if (publisher) url.searchParams.set("PublisherIdentifier", emu.tenant.tenantId);
  return url.toString();
}

/** A caller of the activity API holding one token. */
export async function apiClient(emu: RunningEmulator) {
  const token = await getToken(emu);
  const auth = { Authorization: `Bearer ${token}` };
  return {
    token,
    get: (url: string) => send(emu.caCertPem, "GET", url, { headers: auth }),
    post: (url: string) => send(emu.caCertPem, "POST", url, { headers: auth }),
  };
}

export interface ContentItem {
  contentType: string;
  contentId: string;
  contentUri: string;
  contentCreated: string;
  contentExpiration: string;
}

/** Follows NextPageUri to the end; returns every item and the number of pages. */
export async function listAll(
  get: (url: string) => Promise<HttpResult>,
  firstUrl: string,
): Promise<{ items: ContentItem[]; pages: number; nextUris: string[] }> {
  const items: ContentItem[] = [];
  const nextUris: string[] = [];
  let url: string | undefined = firstUrl;
  let pages = 0;
  while (url) {
    const res = await get(url);
    if (res.status !== 200) throw new Error(`listing failed: ${res.status} ${res.body}`);
    items.push(...(JSON.parse(res.body) as ContentItem[]));
    pages++;
    url = res.headers.nextpageuri as string | undefined;
    if (url) nextUris.push(url);
    if (pages > 10_000) throw new Error("paging does not end");
  }
  return { items, pages, nextUris };
}

/** msal-node's network module over node:https with the emulator's CA (for in-process tests). */
export function msalNetworkClient(ca: string): INetworkModule {
  const call = async <T>(
    method: string,
    url: string,
    options?: NetworkRequestOptions,
  ): Promise<NetworkResponse<T>> => {
    const res = await send(ca, method, url, { headers: options?.headers, body: options?.body });
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers)) if (typeof v === "string") headers[k] = v;
    return { status: res.status, headers, body: JSON.parse(res.body) as T };
  };
  return {
    sendGetRequestAsync: (url, options) => call("GET", url, options),
    sendPostRequestAsync: (url, options) => call("POST", url, options),
  };
}

export function errorCode(res: HttpResult): string | undefined {
  try {
    return (JSON.parse(res.body) as { error?: { code?: string } }).error?.code;
  } catch {
    return undefined;
  }
}

/** The small tenant on a simulated clock that the quota and fault tests run against. */
export const TINY_START = new Date("2026-05-20T12:00:00Z");
export const TINY_TENANT = { days: 1, futureDays: 0, apps: 4, users: 5, launchesPerDay: 40 };

/** Runs `body` against a tiny emulator, seed "faults" unless `options` say otherwise. */
export async function withTinyEmulator(
  options: EmulatorOptions,
  body: (emu: RunningEmulator) => Promise<void>,
): Promise<void> {
  const emu = await startEmulator({
    seed: "faults",
    startTime: TINY_START,
    tenant: TINY_TENANT,
    ...options,
  });
  try {
    await body(emu);
  } finally {
    await emu.stop();
  }
}

/** A `$batch` body: each entry a request on its own, or an array of requests (a change set). */
export function batchBody(
  base: string,
  parts: (
    | { method: string; path: string; body?: unknown }
    | { method: string; path: string; body?: unknown }[]
  )[],
): { boundary: string; body: string } {
  const boundary = "batch_test";
  const request = (r: { method: string; path: string; body?: unknown }, id?: number) =>
    `Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n${id ? `Content-ID: ${id}\r\n` : ""}\r\n` +
    `${r.method} ${base}/api/data/v9.2/${r.path} HTTP/1.1\r\nContent-Type: application/json\r\n\r\n${r.body === undefined ? "" : JSON.stringify(r.body)}\r\n`;
  let body = "";
  parts.forEach((part, i) => {
    if (Array.isArray(part)) {
      const cs = `changeset_${i}`;
      body += `--${boundary}\r\nContent-Type: multipart/mixed; boundary=${cs}\r\n\r\n`;
      part.forEach((r, j) => (body += `--${cs}\r\n${request(r, j + 1)}`));
      body += `--${cs}--\r\n`;
    } else body += `--${boundary}\r\n${request(part)}`;
  });
  return { boundary, body: `${body}--${boundary}--\r\n` };
}
