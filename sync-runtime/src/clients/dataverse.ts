import { randomUUID } from "node:crypto";
import { parseErrorBody, parseRetryAfter } from "./http/api-errors";
import { DataverseError, ThrottledError, TransportError } from "../core/errors";
import type { TokenProvider } from "./auth";
import type { HttpClient } from "./http/client";

/**
 * The Dataverse Web API calls the sink needs (learn.microsoft.com, Power Apps developer docs, "Use
 * the Microsoft Dataverse Web API"): GET a row by key, collection queries with `$filter`/`$select`
 * followed through `@odata.nextLink` ("Query data using the Web API"), and writes sent as `$batch`
 * requests with `Prefer: odata.continue-on-error`, so that every request gets its own answer and
 * one refused row does not stop the others ("Execute batch operations using the Web API"). A
 * write is a PATCH to `<set>(<key>)`: an upsert, with `If-Match: *` an update that never creates
 * a row, with `If-Match: <ETag>` an update only while the row is unchanged (412 otherwise:
 * "Perform conditional operations using the Web API").
 */
export const WEB_API = "/api/data/v9.2";

export interface DataverseWrite {
  entitySet: string;
  id: string;
  body: Record<string, unknown>;
  /** "*": only update an existing row, never create one; an ETag: only while the row is unchanged. */
  ifMatch?: string;
  /** Ask for the row back (Prefer: return=representation): its new ETag and columns. */
  returnRow?: boolean;
}

/** One write's answer inside a batch. */
export interface WriteResult {
  /** HTTP status of the write; for a write still throttled or failing after the retries, the last one. */
  status: number;
  /** Dataverse's error code (0x…) and message, for a failure. */
  code?: string;
  message?: string;
  /** The row as written, when asked for and given. */
  row?: Record<string, unknown>;
}

/** Whether a write's answer means "try again later" (throttled, a server fault) rather than yes or no. */
export function isTransient(status: number): boolean {
  return status === 429 || status >= 500 || status === 0;
}

/**
 * Why an answer says the sink's write requests run too long, so that the next ones carry fewer
 * rows (domain/batch-size.ts): the execution-time limit of the service protection limits
 * (0x80072321, "reduce the duration of requests"), a SQL timeout ("Use bulk operation messages":
 * 0x80044151, "reduce the batch size of your request"), or the request outlasting the client's
 * own timeout.
 */
export type TooLong = "execution-time" | "sql-timeout" | "timeout";

/** Called once for each answer of a write request that says it ran too long. */
export type OnTooLong = (why: TooLong) => void;

const EXECUTION_TIME_LIMIT = "0x80072321";
const SQL_TIMEOUT = "0x80044151";

function tooLongOf(status: number, code: string | undefined): TooLong | undefined {
  if (status === 429 && code === EXECUTION_TIME_LIMIT) return "execution-time";
  if (code === SQL_TIMEOUT) return "sql-timeout";
  return undefined;
}

/**
 * How a write request reports its too-long answers, and whether to send it again as it is. A
 * request that outlasted a timeout (the client's or SQL's) would run as long again: when the
 * caller cuts requests smaller (it passed onTooLong) it gets the writes back at once, transient,
 * to send them again in smaller requests. The execution-time limit is about the window, not this
 * request: it is waited out (Retry-After) and the request sent again.
 */
function tooLongHook(onTooLong: OnTooLong | undefined): {
  hear: OnTooLong | undefined;
  retry: (err: unknown) => boolean;
} {
  let giveUp = false;
  return {
    hear:
      onTooLong &&
      ((why) => {
        onTooLong(why);
        if (why !== "execution-time") giveUp = true;
      }),
    retry: (err) => !giveUp && retryable(err),
  };
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
  /**
   * Send `MSCRM.SuppressCallbackRegistrationExpanderJob: true` with every write, so that the
   * writes trigger no Power Automate flow (learn.microsoft.com, "Bypass Power Automate flows").
   */
  suppressFlows?: boolean;
}

export interface QueryOptions {
  select: string[];
  filter?: string;
}

export class DataverseClient {
  /** The last `x-ms-dop-hint` Dataverse answered: the parallelism it recommends. */
  dopHint: number | undefined;

  constructor(private readonly options: DataverseClientOptions) {}

  /** The row's selected columns (and `@odata.etag`), or undefined when it does not exist (404). */
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
        this.check(res.status, res.text, url, res.retryAfter);
        return JSON.parse(res.text) as Record<string, unknown>;
      },
      { signal, retryable },
    );
  }

  /** Every row the query matches, page after page (`@odata.nextLink`). */
  async query(
    entitySet: string,
    query: QueryOptions,
    signal?: AbortSignal,
  ): Promise<Record<string, unknown>[]> {
    const params = [`$select=${query.select.join(",")}`];
    if (query.filter) params.push(`$filter=${encodeURIComponent(query.filter)}`);
    let url: string | undefined = `${this.options.url}${WEB_API}/${entitySet}?${params.join("&")}`;
    const rows: Record<string, unknown>[] = [];
    // Every page is a new request; the bound only guards against a link that never ends.
    for (let page = 0; url && page < 10_000; page++) {
      const pageUrl: string = url;
      const body = await this.options.http.retrying(
        "dataverse query",
        async () => {
          const res = await this.send(
            pageUrl,
            { method: "GET", headers: { Prefer: "odata.maxpagesize=5000" } },
            signal,
          );
          this.check(res.status, res.text, pageUrl, res.retryAfter);
          return JSON.parse(res.text) as {
            value?: Record<string, unknown>[];
            "@odata.nextLink"?: string;
          };
        },
        { signal, retryable },
      );
      rows.push(...(body.value ?? []));
      url = body["@odata.nextLink"];
    }
    return rows;
  }

  /**
   * Sends the writes as one `$batch` of independent requests (`Prefer: odata.continue-on-error`)
   * and returns each write's answer, in order. Writes answered 429 or 5xx are sent again, alone,
   * under the retry policy (Retry-After wins); those still failing come back with that status,
   * for the caller to keep for later. Every write is idempotent, so sending one twice is safe.
   * `onTooLong` hears of each answer that says the requests run too long; given, a request that
   * timed out comes back at once instead of being sent again as it was (see tooLongHook).
   */
  async batch(
    writes: DataverseWrite[],
    signal?: AbortSignal,
    onTooLong?: OnTooLong,
  ): Promise<WriteResult[]> {
    const url = `${this.options.url}${WEB_API}/$batch`;
    const results: WriteResult[] = writes.map(() => ({ status: 0 }));
    let pending = writes.map((_, i) => i);
    const tooLong = tooLongHook(onTooLong);
    try {
      await this.options.http.retrying(
        "dataverse batch",
        async () => {
          const boundary = `batch_${randomUUID()}`;
          const res = await this.send(
            url,
            {
              method: "POST",
              headers: {
                "Content-Type": `multipart/mixed; boundary=${boundary}`,
                Prefer: "odata.continue-on-error",
                ...this.flowHeaders(),
              },
              body: batchBody(
                this.options.url,
                boundary,
                pending.map((i) => writes[i]),
                this.flowHeaders(),
              ),
            },
            signal,
            tooLong.hear,
          );
          this.check(res.status, res.text, url, res.retryAfter);
          const answers = parseBatchResponse(res.contentType, res.text);
          // The operations run one after another inside the request: one answer for it is enough.
          const why = answers
            .map((a) => tooLongOf(a.result.status, a.result.code))
            .find((w) => w !== undefined);
          if (why) tooLong.hear?.(why);
          const still: number[] = [];
          let retryAfter: string | undefined;
          pending.forEach((index, k) => {
            const answer = answers[k];
            if (!answer) {
              // An answer cut short: the writes it does not cover are sent again.
              still.push(index);
              return;
            }
            results[index] = answer.result;
            if (isTransient(answer.result.status)) {
              still.push(index);
              retryAfter ??= answer.retryAfter;
            }
          });
          pending = still;
          if (pending.length === 0) return;
          const first = results[pending[0]];
          if (first.status === 429 || first.status === 0)
            throw new DataverseThrottledError(
              429,
              url,
              parseRetryAfter(retryAfter ?? null, Date.now()),
            );
          throw new DataverseError({
            status: first.status,
            dataverseCode: first.code,
            message: `Dataverse answered HTTP ${first.status} to ${pending.length} of the batch's writes; they are sent again.`,
          });
        },
        { signal, retryable: tooLong.retry },
      );
    } catch (err) {
      if (signal?.aborted || !retryable(err)) throw err;
      // The retries ran out: the writes still throttled or failing are the caller's to keep.
      for (const i of pending) if (results[i].status === 0) results[i] = transientOf(err);
    }
    return results;
  }

  /**
   * Whether the table offers a message (learn.microsoft.com, "Use bulk operation messages":
   * "Availability with standard tables" queries `sdkmessagefilters` by message name and table).
   */
  async hasMessage(logicalName: string, message: string, signal?: AbortSignal): Promise<boolean> {
    const rows = await this.query(
      "sdkmessagefilters",
      {
        select: ["sdkmessagefilterid"],
        filter: `sdkmessageid/name eq '${message}' and primaryobjecttypecode eq '${logicalName}'`,
      },
      signal,
    );
    return rows.length > 0;
  }

  /**
   * Upserts the rows in one `UpsertMultiple` request (learn.microsoft.com, "UpsertMultiple
   * Action"): each target names its row with `@odata.id`, all or nothing. Throttling and 5xx are
   * retried (Retry-After wins); a refusal comes back as the answer, for the caller to find the
   * row it is about. `onTooLong` hears of each answer that says the requests run too long; given,
   * a request that timed out comes back at once instead of being sent again as it was.
   */
  async upsertMultiple(
    entitySet: string,
    logicalName: string,
    rows: { id: string; body: Record<string, unknown> }[],
    signal?: AbortSignal,
    onTooLong?: OnTooLong,
  ): Promise<WriteResult> {
    const targets = rows.map((r) => ({
      "@odata.type": `Microsoft.Dynamics.CRM.${logicalName}`,
      "@odata.id": `${entitySet}(${r.id})`,
      ...r.body,
    }));
    return this.bulkMessage("UpsertMultiple", entitySet, targets, signal, onTooLong);
  }

  /**
   * Updates existing rows in one `UpdateMultiple` request (learn.microsoft.com, "UpdateMultiple
   * Action" and "Use bulk operation messages"): each target names its row by its primary key
   * (`<logical name>id`), only the columns that change besides; all or nothing, and never creates
   * a row (a missing one fails the request). Answered as upsertMultiple is.
   */
  async updateMultiple(
    entitySet: string,
    logicalName: string,
    rows: { id: string; body: Record<string, unknown> }[],
    signal?: AbortSignal,
    onTooLong?: OnTooLong,
  ): Promise<WriteResult> {
    const targets = rows.map((r) => ({
      "@odata.type": `Microsoft.Dynamics.CRM.${logicalName}`,
      [`${logicalName}id`]: r.id,
      ...r.body,
    }));
    return this.bulkMessage("UpdateMultiple", entitySet, targets, signal, onTooLong);
  }

  private async bulkMessage(
    message: "UpsertMultiple" | "UpdateMultiple",
    entitySet: string,
    targets: Record<string, unknown>[],
    signal: AbortSignal | undefined,
    onTooLong: OnTooLong | undefined,
  ): Promise<WriteResult> {
    const url = `${this.options.url}${WEB_API}/${entitySet}/Microsoft.Dynamics.CRM.${message}`;
    const body = JSON.stringify({ Targets: targets });
    const tooLong = tooLongHook(onTooLong);
    try {
      return await this.options.http.retrying(
        `dataverse ${message.toLowerCase()}`,
        async () => {
          const res = await this.send(
            url,
            {
              method: "POST",
              headers: { "Content-Type": "application/json; charset=utf-8", ...this.flowHeaders() },
              body,
            },
            signal,
            tooLong.hear,
          );
          if (res.status >= 400 && res.status < 500 && ![401, 403, 429].includes(res.status)) {
            const e = parseErrorBody(res.text);
            return { status: res.status, code: e.code, message: e.message };
          }
          this.check(res.status, res.text, url, res.retryAfter);
          return { status: res.status };
        },
        { signal, retryable: tooLong.retry },
      );
    } catch (err) {
      if (signal?.aborted || !retryable(err)) throw err;
      return transientOf(err);
    }
  }

  private flowHeaders(): Record<string, string> {
    return this.options.suppressFlows
      ? { "MSCRM.SuppressCallbackRegistrationExpanderJob": "true" }
      : {};
  }

  /** One attempt; `onTooLong` hears whether its answer (or its timing out) says it ran too long. */
  private async send(
    url: string,
    init: { method: "GET" | "POST"; headers?: Record<string, string>; body?: string },
    signal?: AbortSignal,
    onTooLong?: OnTooLong,
  ): Promise<{ status: number; text: string; retryAfter: string | null; contentType: string }> {
    const token = await this.options.tokens.getToken({ signal });
    let text: string;
    let res: Awaited<ReturnType<HttpClient["send"]>>;
    try {
      res = await this.options.http.send(url, {
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
      const hint = Number(res.headers.get("x-ms-dop-hint"));
      if (Number.isInteger(hint) && hint > 0) this.dopHint = hint;
      try {
        text = await res.text();
      } catch (cause) {
        throw new TransportError(url, `Reading Dataverse's answer failed; it is retried.`, {
          cause,
        });
      }
    } catch (err) {
      // A stop while the body streams in aborts it too; only the client's own timeout counts.
      if (onTooLong && !signal?.aborted && timedOut(err)) onTooLong("timeout");
      throw err;
    }
    if (onTooLong && res.status >= 400) {
      const why = tooLongOf(res.status, parseErrorBody(text).code);
      if (why) onTooLong(why);
    }
    return {
      status: res.status,
      text,
      retryAfter: res.headers.get("retry-after"),
      contentType: res.headers.get("content-type") ?? "",
    };
  }

  /** Throws the error an answer means; returns for a success. */
  private check(
    status: number,
    text: string,
    url: string,
    retryAfter: string | null | undefined,
  ): void {
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

/** Whether a request failed by an abort: the HTTP client's timeout, unless the caller stopped. */
function timedOut(err: unknown): boolean {
  if (!(err instanceof TransportError)) return false;
  const name = err.cause instanceof Error ? err.cause.name : undefined;
  return name === "AbortError" || name === "TimeoutError";
}

/** The answer kept for a write whose retries ran out. */
function transientOf(err: unknown): WriteResult {
  return {
    status: err instanceof DataverseError ? err.status : err instanceof ThrottledError ? 429 : 0,
    message: err instanceof Error ? err.message : String(err),
  };
}

/** The multipart/mixed body of a $batch: one independent request per write, in order. */
export function batchBody(
  origin: string,
  boundary: string,
  writes: DataverseWrite[],
  extraHeaders: Record<string, string> = {},
): string {
  const parts = writes.map((w) => {
    const headers = [
      "Content-Type: application/json; type=entry",
      ...Object.entries(extraHeaders).map(([k, v]) => `${k}: ${v}`),
    ];
    if (w.ifMatch) headers.push(`If-Match: ${w.ifMatch}`);
    if (w.returnRow) headers.push("Prefer: return=representation");
    return (
      `--${boundary}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n` +
      `PATCH ${origin}${WEB_API}/${w.entitySet}(${w.id}) HTTP/1.1\r\n${headers.join("\r\n")}\r\n\r\n${JSON.stringify(w.body)}\r\n`
    );
  });
  return `${parts.join("")}--${boundary}--\r\n`;
}

/**
 * The answers of a `$batch` response, in order: the status of each inner response, Dataverse's
 * error for a failure, the row for a success that returned one. A change set's answers (a nested
 * multipart) are read in their order too.
 */
export function parseBatchResponse(
  contentType: string,
  text: string,
): { result: WriteResult; retryAfter?: string }[] {
  const boundary = /boundary=("?)([^";]+)\1/i.exec(contentType)?.[2];
  if (!boundary) return [];
  const out: { result: WriteResult; retryAfter?: string }[] = [];
  for (const part of multipartParts(text, boundary)) {
    const { headers, rest } = headersAndRest(part);
    const nested = /boundary=("?)([^";]+)\1/i.exec(headers["content-type"] ?? "")?.[2];
    if (/^multipart\/mixed/i.test(headers["content-type"] ?? "") && nested) {
      out.push(...parseBatchResponse(`multipart/mixed; boundary=${nested}`, rest));
      continue;
    }
    const [statusLine, ...after] = rest.split(/\r?\n/);
    const m = /^HTTP\/1\.1 (\d{3})/.exec(statusLine.trim());
    if (!m) continue;
    const status = Number(m[1]);
    const inner = headersAndRest(after.join("\r\n"));
    const body = inner.rest.trim();
    const result: WriteResult = { status };
    if (status >= 400) {
      const e = parseErrorBody(body);
      if (e.code) result.code = e.code;
      if (e.message) result.message = e.message;
    } else if (body.startsWith("{")) {
      try {
        result.row = JSON.parse(body) as Record<string, unknown>;
      } catch {
        // A success without a readable row is still a success.
      }
    }
    out.push({ result, retryAfter: inner.headers["retry-after"] });
  }
  return out;
}

function multipartParts(body: string, boundary: string): string[] {
  const delimiter = `--${boundary}`;
  const end = body.indexOf(`${delimiter}--`);
  return (end < 0 ? body : body.slice(0, end))
    .split(delimiter)
    .slice(1)
    .map((p) => p.replace(/^\r?\n/, ""));
}

function headersAndRest(text: string): { headers: Record<string, string>; rest: string } {
  const m = /\r?\n\r?\n/.exec(text);
  const head = m ? text.slice(0, m.index) : text;
  const rest = m ? text.slice(m.index + m[0].length) : "";
  const headers: Record<string, string> = {};
  for (const line of head.split(/\r?\n/)) {
    const i = line.indexOf(":");
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return { headers, rest };
}
