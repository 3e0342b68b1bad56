/** Small HTTP helpers shared by the token endpoint and the activity API. */
import type { IncomingMessage } from "node:http";

/** What a handler answers; the server applies latency and faults, then writes it. */
export interface Reply {
  status: number;
  headers?: Record<string, string>;
  /** A whole body, or chunks produced on demand (big blobs are never built as one string). */
  body?: string | Iterable<string>;
}

export function json(status: number, value: unknown, headers: Record<string, string> = {}): Reply {
  return {
    status,
    headers: { "Content-Type": "application/json; charset=utf-8", ...headers },
    body: JSON.stringify(value),
  };
}

/** The Management Activity API's documented error shape. */
export function afError(
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): Reply {
  return json(status, { error: { code, message } }, headers);
}

/** Query parameters by name, case-insensitively (the service's model binding ignores case). */
export function queryParam(url: URL, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of url.searchParams) if (key.toLowerCase() === wanted) return value;
  return undefined;
}

export async function readBody(req: IncomingMessage, limitBytes = 1024 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limitBytes) throw new Error("request body too large");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** decodeURIComponent that leaves a malformed escape as it is instead of throwing. */
export function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
