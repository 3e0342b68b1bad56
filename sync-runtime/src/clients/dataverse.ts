import { randomUUID } from "node:crypto";
import { parseErrorBody, parseRetryAfter } from "./http/api-errors";
import { DataverseError, ThrottledError, TransportError } from "../core/errors";
import type { TokenProvider } from "./auth";
import type { HttpClient } from "./http/client";

/**
 * The Dataverse Web API calls the sink needs (learn.microsoft.com, Power Apps developer docs, "Use
 * the Microsoft Dataverse Web API"): GET a row by key, and writes sent as `$batch` requests whose
 * change sets are transactions ("Execute batch operations using the Web API"). A write is a PATCH
 * to `<set>(<key>)`: an upsert, or with `If-Match: *` an update that never creates a row
 * ("Update and delete table rows using the Web API").
 */
export const WEB_API = "/api/data/v9.2";

export interface DataverseWrite {
  entitySet: string;
  id: string;
  body: Record<string, unknown>;
  /** Only update an existing row (If-Match: *), never create one. */
  updateOnly?: boolean;
}

/** What Dataverse answers for a missing application user, and what to do about it. */
const NOT_A_MEMBER = "0x80072560";
const MISSING_PRIVILEGE = "0x80040220";

export class DataverseThrottledError extends ThrottledError {
  constructor(status: number, url: string, retryAfterMs: number | undefined) {
    super({ status, url, retryAfterMs });
    this.message =
      "Dataverse's service protection limits answered 429; the sink waits Retry-After and retries.";
  }
}

export interface DataverseClientOptions {
  /** Environment URL, https://org.crm.dynamics.com (no trailing slash). */
  url: string;
  clientId: string;
  http: HttpClient;
  tokens: TokenProvider;
}

export class DataverseClient {
  constructor(private readonly options: DataverseClientOptions) {}

  /** The row's selected columns, or undefined when it does not exist (404). */
  async get(
    entitySet: string,
    id: string,
    select: string[],
    signal?: AbortSignal,
  ): Promise<Record<string, unknown> | undefined> {
    const url = `${this.options.url}${WEB_API}/${entitySet}(${id})?$select=${select.join(",")}`;
    return this.options.http.retrying(
      "dataverse get",
      async () => {
        const res = await this.send(url, { method: "GET" }, signal);
        if (res.status === 404) return undefined;
        await this.check(res.status, res.text, url, res.retryAfter);
        return JSON.parse(res.text) as Record<string, unknown>;
      },
      { signal, retryable },
    );
  }

  /**
   * Sends the writes as one `$batch`, each inner array a change set (all or nothing). The whole
   * batch is retried on throttling or a 5xx; that is safe because every write is idempotent.
   */
  async batch(changeSets: DataverseWrite[][], signal?: AbortSignal): Promise<void> {
    const url = `${this.options.url}${WEB_API}/$batch`;
    await this.options.http.retrying(
      "dataverse batch",
      async () => {
        const boundary = `batch_${randomUUID()}`;
        const res = await this.send(
          url,
          {
            method: "POST",
            headers: { "Content-Type": `multipart/mixed; boundary=${boundary}` },
            body: batchBody(this.options.url, boundary, changeSets),
          },
          signal,
        );
        await this.check(res.status, res.text, url, res.retryAfter);
        const failed = firstFailure(res.text);
        if (failed) await this.check(failed.status, failed.body, url, undefined);
      },
      { signal, retryable },
    );
  }

  private async send(
    url: string,
    init: { method: "GET" | "POST"; headers?: Record<string, string>; body?: string },
    signal?: AbortSignal,
  ): Promise<{ status: number; text: string; retryAfter: string | null }> {
    const token = await this.options.tokens.getToken({ signal });
    const res = await this.options.http.send(url, {
      ...init,
      headers: {
        Authorization: `Bearer ${token}`,
        Accept: "application/json",
        "OData-Version": "4.0",
        "OData-MaxVersion": "4.0",
        ...init.headers,
      },
      acceptAnyStatus: true,
      signal,
    });
    let text: string;
    try {
      text = await res.text();
    } catch (cause) {
      throw new TransportError(url, `Reading Dataverse's answer failed; it is retried.`, { cause });
    }
    return { status: res.status, text, retryAfter: res.headers.get("retry-after") };
  }

  /** Throws the error an answer means; returns for a success. */
  private async check(
    status: number,
    text: string,
    url: string,
    retryAfter: string | null | undefined,
  ): Promise<void> {
    if (status < 400) return;
    if (status === 429)
      throw new DataverseThrottledError(
        status,
        url,
        parseRetryAfter(retryAfter ?? null, Date.now()),
      );
    const body = parseErrorBody(text);
    const code = body.code;
    const env = this.options.url;
    if (status === 401)
      throw new DataverseError({
        status,
        dataverseCode: code,
        message: `Dataverse (${env}) refused the token (HTTP 401): check that AUDIT_DATAVERSE_URL is the CoE environment's URL in the same tenant as AUDIT_TENANT_ID.`,
      });
    if (status === 403 && (code === NOT_A_MEMBER || code === MISSING_PRIVILEGE)) {
      const what =
        code === NOT_A_MEMBER
          ? `the app ${this.options.clientId} has no application user in the Dataverse environment ${env}`
          : `the application user of app ${this.options.clientId} in ${env} has no security role that can write admin_auditlogs and admin_apps`;
      throw new DataverseError({
        status,
        dataverseCode: code,
        message:
          `Dataverse refused the write (HTTP 403 ${code}): ${what}. Create it with a role (the CoE's "System Administrator" or a role with write access to Audit Logs and PowerApps Apps): ` +
          `pac admin assign-user --environment ${env} --user ${this.options.clientId} --role "System Administrator" --application-user`,
      });
    }
    throw new DataverseError({
      status,
      dataverseCode: code,
      message: `Dataverse (${env}) answered HTTP ${status}${code ? ` ${code}` : ""}${body.message ? `: ${body.message}` : ""}. ${status >= 500 ? "It is retried." : "The events stay in the outbox table and are retried next pass."}`,
    });
  }
}

function retryable(err: unknown): boolean {
  if (err instanceof ThrottledError || err instanceof TransportError) return true;
  return err instanceof DataverseError && err.status >= 500;
}

/** The multipart/mixed body of a $batch, one change set per group of writes. */
export function batchBody(
  origin: string,
  boundary: string,
  changeSets: DataverseWrite[][],
): string {
  const parts = changeSets.map((writes, i) => {
    const cs = `changeset_${i}_${randomUUID()}`;
    const inner = writes.map((w, j) => {
      const headers = ["Content-Type: application/json; type=entry"];
      if (w.updateOnly) headers.push("If-Match: *");
      return (
        `--${cs}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: ${j + 1}\r\n\r\n` +
        `PATCH ${origin}${WEB_API}/${w.entitySet}(${w.id}) HTTP/1.1\r\n${headers.join("\r\n")}\r\n\r\n${JSON.stringify(w.body)}\r\n`
      );
    });
    return `--${boundary}\r\nContent-Type: multipart/mixed; boundary=${cs}\r\n\r\n${inner.join("")}--${cs}--\r\n`;
  });
  return `${parts.join("")}--${boundary}--\r\n`;
}

/** The first inner response of a batch answer with a 4xx/5xx status, with its body. */
export function firstFailure(text: string): { status: number; body: string } | undefined {
  const re = /HTTP\/1\.1 (\d{3})[^\r\n]*\r?\n([\s\S]*?)\r?\n\r?\n([^\r\n]*)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const status = Number(m[1]);
    if (status >= 400) return { status, body: m[3] };
  }
  return undefined;
}
