/**
 * A Dataverse environment's Web API for the CoE audit tables, written from Microsoft Learn
 * (Power Apps developer docs, "Use the Microsoft Dataverse Web API"):
 * - "Update and delete table rows using the Web API": PATCH to `<set>(<key>)` is an upsert;
 *   `If-Match: *` makes it update only (404 when the row does not exist), `If-None-Match: *`
 *   create only (412 when it does); 204 No Content with an `OData-EntityId` header.
 * - "Retrieve a table row using the Web API": GET `<set>(<key>)?$select=…`, 404 when absent.
 * - "Associate and disassociate table rows": `<navigation>@odata.bind` = "<set>(<key>)"; a bind to a
 *   row that does not exist fails the request.
 * - "Execute batch operations using the Web API": POST `$batch` as multipart/mixed, change sets
 *   as nested multipart parts that succeed or roll back together, at most 1,000 requests; without
 *   `Prefer: odata.continue-on-error` the batch stops at the first failure.
 * - "Service protection API limits": per user, a 5-minute sliding window of 6,000 requests, and 52
 *   concurrent requests; over either, 429 Too Many Requests with `Retry-After` in seconds.
 * - An app calls Dataverse only as an application user ("Manage application users in the Power
 *   Platform admin center"); without one the service answers 403 "The user is not a member of the
 *   organization" (0x80072560); without a security role that grants the table's privileges, 403
 *   "missing prv… privilege" (0x80040220).
 * Request accounting counts every request inside a batch toward the request limit: the cautious
 * reading of the docs, which a client that stays under it also satisfies.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { randomUUID } from "node:crypto";
import { COE_TABLES, type ColumnSpec, type TableSpec } from "./dataverse-tables";
import { readBody } from "./http";
import { sameAudience, type TokenSigner } from "./tokens";

export const WEB_API_PATH = "/api/data/v9.2";

/** How the emulated environment knows the calling app. */
export type ApplicationUserState = "present" | "missing" | "no-role";

export interface DataverseOptions {
  /** The application user of the Entra app. Default "present". */
  applicationUser?: ApplicationUserState;
  /** Requests per user in the sliding window. Default 6,000. */
  requestsPerWindow?: number;
  /** The sliding window. Default 5 minutes (tests shorten it). */
  windowMs?: number;
  /** Concurrent requests per user. Default 52. */
  maxConcurrent?: number;
  /** Every n-th request (counting from 1) answers 429 with Retry-After: 1. Default 0 (never). */
  throttleEvery?: number;
  /** Milliseconds each request takes (lets concurrency build up). Default 0. */
  latencyMs?: number;
}

export interface DataverseRow {
  [column: string]: string | boolean | number | null;
}

export interface DataverseCounters {
  requests: number;
  batches: number;
  operations: number;
  throttled: number;
  concurrencyRejected: number;
  unauthorized: number;
  forbidden: number;
  /** The most requests in flight at once (for one user). */
  peakConcurrent: number;
}

interface Response {
  status: number;
  headers: Record<string, string>;
  body?: string;
}

interface Operation {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  contentId?: string;
}

const ODATA_HEADERS = {
  "OData-Version": "4.0",
  "Content-Type": "application/json; odata.metadata=minimal",
};

function error(
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): Response {
  return {
    status,
    headers: { ...ODATA_HEADERS, ...headers },
    body: JSON.stringify({ error: { code, message } }),
  };
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The tables and their rows: what tests compare with the ground truth. */
export class DataverseStore {
  private readonly tables = new Map<string, Map<string, DataverseRow>>();
  private version = 1000;

  constructor(readonly origin: string) {
    for (const t of COE_TABLES) this.tables.set(t.entitySet, new Map());
  }

  spec(entitySet: string): TableSpec | undefined {
    return COE_TABLES.find((t) => t.entitySet === entitySet);
  }

  rows(entitySet: string): DataverseRow[] {
    return [...(this.tables.get(entitySet)?.values() ?? [])].map((r) => ({ ...r }));
  }

  get(entitySet: string, id: string): DataverseRow | undefined {
    return this.tables.get(entitySet)?.get(id.toLowerCase());
  }

  /** Puts a row as an admin (or the CoE inventory flows) would have: no checks. */
  seed(entitySet: string, id: string, row: DataverseRow): void {
    const spec = this.spec(entitySet)!;
    this.tables.get(entitySet)!.set(id.toLowerCase(), {
      ...row,
      [spec.key]: id.toLowerCase(),
      versionnumber: this.version++,
    });
  }

  /** Copies of every table, to restore when a change set fails. */
  snapshot(): Map<string, Map<string, DataverseRow>> {
    return new Map(
      [...this.tables].map(([k, v]) => [k, new Map([...v].map(([id, r]) => [id, { ...r }]))]),
    );
  }

  restore(snapshot: Map<string, Map<string, DataverseRow>>): void {
    for (const [k, v] of snapshot) this.tables.set(k, v);
  }

  /** One request of the Web API, already authenticated and admitted. */
  handle(op: Operation): Response {
    const url = new URL(op.url, this.origin);
    if (!url.pathname.startsWith(`${WEB_API_PATH}/`))
      return error(404, "0x80060888", `Resource not found for the segment '${url.pathname}'.`);
    const segment = decodeURIComponent(url.pathname.slice(WEB_API_PATH.length + 1));
    const m = /^([a-z_]+)\(([^)]*)\)$/i.exec(segment);
    const set = m ? m[1] : segment;
    const spec = this.spec(set);
    if (!spec) return error(404, "0x80060888", `Resource not found for the segment '${set}'.`);
    if (!m) return error(405, "0x80060888", `Only requests by key are emulated for ${set}.`);
    const id = m[2].replace(/^'|'$/g, "");
    if (!GUID.test(id))
      return error(
        400,
        "0x80060888",
        `Bad Request - Error in query syntax: '${m[2]}' is not a valid key for ${set}.`,
      );
    if (op.method === "GET") return this.retrieve(spec, id, url);
    if (op.method === "PATCH") return this.upsert(spec, id, op);
    return error(405, "0x80060888", `The HTTP method '${op.method}' is not emulated.`);
  }

  private retrieve(spec: TableSpec, id: string, url: URL): Response {
    const row = this.get(spec.entitySet, id);
    if (!row) return notFound(spec, id);
    const select = url.searchParams
      .get("$select")
      ?.split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    const out: Record<string, unknown> = {
      "@odata.context": `${this.origin}${WEB_API_PATH}/$metadata#${spec.entitySet}/$entity`,
      "@odata.etag": `W/"${row.versionnumber}"`,
    };
    for (const [k, v] of Object.entries(row)) {
      if (k === "versionnumber") continue;
      if (!select || select.includes(k) || k === spec.key) out[k] = v;
    }
    return { status: 200, headers: { ...ODATA_HEADERS }, body: JSON.stringify(out) };
  }

  private upsert(spec: TableSpec, id: string, op: Operation): Response {
    let body: unknown;
    try {
      body = JSON.parse(op.body || "{}");
    } catch {
      return error(400, "0x80060891", "The request body is not valid JSON.");
    }
    if (!body || typeof body !== "object" || Array.isArray(body))
      return error(400, "0x80060891", "The request body must be a JSON object.");
    const existing = this.get(spec.entitySet, id);
    const ifMatch = header(op.headers, "if-match");
    const ifNoneMatch = header(op.headers, "if-none-match");
    if (ifMatch === "*" && !existing) return notFound(spec, id);
    if (ifNoneMatch === "*" && existing)
      return error(412, "0x80040237", "A record with matching key values already exists.");
    const validated = this.validate(spec, body as Record<string, unknown>);
    if ("error" in validated) return validated.error;
    const { changes } = validated;
    if (!existing) {
      for (const [name, col] of Object.entries(spec.columns)) {
        if (col.required && changes[name] === undefined)
          return error(
            400,
            "0x80040200",
            `The column '${name}' of '${spec.logicalName}' is required.`,
          );
      }
    }
    const row: DataverseRow = {
      ...(existing ?? { [spec.key]: id.toLowerCase() }),
      ...changes,
      versionnumber: this.version++,
    };
    this.tables.get(spec.entitySet)!.set(id.toLowerCase(), row);
    return {
      status: 204,
      headers: {
        "OData-Version": "4.0",
        "OData-EntityId": `${this.origin}${WEB_API_PATH}/${spec.entitySet}(${id.toLowerCase()})`,
      },
    };
  }

  /** The columns a body sets, or the error Dataverse answers for the first bad one. */
  private validate(
    spec: TableSpec,
    body: Record<string, unknown>,
  ): { changes: DataverseRow } | { error: Response } {
    const changes: DataverseRow = {};
    const fail = (r: Response) => ({ error: r });
    for (const [name, value] of Object.entries(body)) {
      if (name.endsWith("@odata.bind")) {
        const nav = name.slice(0, -"@odata.bind".length);
        const lookup = Object.entries(spec.lookups).find(([, l]) => l.navigation === nav);
        if (!lookup)
          return fail(
            error(
              400,
              "0x80060888",
              `An undeclared property '${nav}' which only has property annotations in the payload but no property value was found in the payload. Navigation property names are case-sensitive.`,
            ),
          );
        const [column, { target }] = lookup;
        if (value === null) {
          changes[`_${column}_value`] = null;
          continue;
        }
        const ref =
          typeof value === "string"
            ? /^\/?([a-z_]+)\(([^)]+)\)$/i.exec(value.replace(`${this.origin}${WEB_API_PATH}/`, ""))
            : null;
        if (!ref || ref[1] !== target)
          return fail(
            error(
              400,
              "0x80060888",
              `The value of '${name}' must be a reference like '${target}(<id>)'.`,
            ),
          );
        if (!this.get(target, ref[2]))
          return fail(
            error(
              404,
              "0x80040217",
              `${this.spec(target)!.logicalName} With Id = ${ref[2]} Does Not Exist`,
            ),
          );
        changes[`_${column}_value`] = ref[2].toLowerCase();
        continue;
      }
      if (name === spec.key) {
        if (typeof value !== "string" || !GUID.test(value))
          return fail(error(400, "0x80060888", `The value of '${name}' is not a GUID.`));
        continue;
      }
      const col = spec.columns[name];
      if (!col)
        return fail(
          error(
            400,
            "0x80060888",
            `The property '${name}' does not exist on type 'Microsoft.Dynamics.CRM.${spec.logicalName}'. Make sure to only use property names that are defined by the type.`,
          ),
        );
      const problem = checkValue(spec, name, col, value);
      if (problem) return fail(problem);
      changes[name] =
        col.type === "datetime" && typeof value === "string"
          ? new Date(value).toISOString().replace(/\.\d{3}Z$/, "Z")
          : (value as string | boolean | null);
    }
    return { changes };
  }
}

function checkValue(
  spec: TableSpec,
  name: string,
  col: ColumnSpec,
  value: unknown,
): Response | undefined {
  if (value === null) return undefined;
  if (col.type === "bool" && typeof value !== "boolean")
    return error(
      400,
      "0x80060888",
      `Cannot convert the literal '${String(value)}' to the expected type 'Edm.Boolean' for '${name}'.`,
    );
  if (col.type === "datetime" && (typeof value !== "string" || Number.isNaN(Date.parse(value))))
    return error(
      400,
      "0x80060888",
      `Cannot convert the literal '${String(value)}' to the expected type 'Edm.DateTimeOffset' for '${name}'.`,
    );
  if (col.type === "text") {
    if (typeof value !== "string")
      return error(
        400,
        "0x80060888",
        `Cannot convert the literal '${String(value)}' to the expected type 'Edm.String' for '${name}'.`,
      );
    if (value.length > col.maxLength!)
      return error(
        400,
        "0x80044331",
        `A validation error occurred. The length of the '${name}' attribute of the '${spec.logicalName}' entity exceeded the maximum allowed length of '${col.maxLength}'.`,
      );
  }
  return undefined;
}

function notFound(spec: TableSpec, id: string): Response {
  return error(404, "0x80040217", `${spec.logicalName} With Id = ${id} Does Not Exist`);
}

function header(headers: Record<string, string>, name: string): string | undefined {
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === name) return v.trim();
  return undefined;
}

/** The per-user sliding window and concurrency of the service protection limits. */
class ServiceProtection {
  private readonly stamps = new Map<string, number[]>();
  private readonly inFlight = new Map<string, number>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly maxConcurrent: number,
  ) {}

  /** Ms to wait when `cost` more requests would exceed the window, else 0 (and counts them). */
  admit(user: string, cost: number, nowMs: number): number {
    const stamps = (this.stamps.get(user) ?? []).filter((t) => t > nowMs - this.windowMs);
    this.stamps.set(user, stamps);
    if (stamps.length + cost > this.limit) {
      const oldest = stamps[Math.max(0, stamps.length + cost - this.limit - 1)] ?? nowMs;
      return Math.max(1, oldest + this.windowMs - nowMs);
    }
    for (let i = 0; i < cost; i++) stamps.push(nowMs);
    return 0;
  }

  enter(user: string): number | undefined {
    const n = (this.inFlight.get(user) ?? 0) + 1;
    if (n > this.maxConcurrent) return undefined;
    this.inFlight.set(user, n);
    return n;
  }

  leave(user: string): void {
    this.inFlight.set(user, Math.max(0, (this.inFlight.get(user) ?? 1) - 1));
  }
}

export interface DataverseContext {
  origin: string;
  tenantId: string;
  /** The Entra app the tenant has (its appid claim is the application user's id). */
  clientId: string;
  signer: TokenSigner;
}

/** The emulated environment: authentication, service protection, $batch around the store. */
export class DataverseEnvironment {
  readonly store: DataverseStore;
  readonly counters: DataverseCounters = {
    requests: 0,
    batches: 0,
    operations: 0,
    throttled: 0,
    concurrencyRejected: 0,
    unauthorized: 0,
    forbidden: 0,
    peakConcurrent: 0,
  };
  applicationUser: ApplicationUserState;
  /** While true every request answers 503 (an outage of the environment). */
  down = false;
  private readonly protection: ServiceProtection;

  constructor(
    private readonly ctx: DataverseContext,
    private readonly options: DataverseOptions = {},
  ) {
    this.store = new DataverseStore(ctx.origin);
    this.applicationUser = options.applicationUser ?? "present";
    this.protection = new ServiceProtection(
      options.requestsPerWindow ?? 6000,
      options.windowMs ?? 5 * 60_000,
      options.maxConcurrent ?? 52,
    );
  }

  async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const reply = await this.answer(req);
    res.writeHead(reply.status, reply.headers);
    res.end(reply.body ?? "");
  }

  private async answer(req: IncomingMessage): Promise<Response> {
    this.counters.requests++;
    const body = await readBody(req, 16 * 1024 * 1024);
    if (this.down)
      return error(503, "0x80040216", "The service is temporarily unavailable.", {
        "Retry-After": "1",
      });
    const user = this.authenticate(req);
    if ("status" in user) return user;
    const url = new URL(req.url ?? "/", this.ctx.origin);
    const isBatch = req.method === "POST" && url.pathname === `${WEB_API_PATH}/$batch`;
    const parsed = isBatch ? parseBatch(req.headers["content-type"] ?? "", body) : undefined;
    if (parsed && "status" in parsed) return parsed;
    const cost = parsed ? parsed.reduce((n, p) => n + (Array.isArray(p) ? p.length : 1), 0) : 1;
    if (parsed && cost > 1000)
      return error(
        400,
        "0x80060888",
        `The number of requests in a batch (${cost}) exceeds the maximum of 1000.`,
      );

    const n = this.counters.requests;
    const every = this.options.throttleEvery ?? 0;
    const waitMs =
      every > 0 && n % every === 0 ? 1000 : this.protection.admit(user.appId, cost, Date.now());
    if (waitMs > 0) {
      this.counters.throttled++;
      return error(
        429,
        "0x80072322",
        "Number of requests exceeded the limit of 6000 over time window of 300 seconds.",
        {
          "Retry-After": String(Math.ceil(waitMs / 1000)),
        },
      );
    }
    const inFlight = this.protection.enter(user.appId);
    if (inFlight === undefined) {
      this.counters.throttled++;
      this.counters.concurrencyRejected++;
      return error(429, "0x80072326", "Number of concurrent requests exceeded the limit of 52.", {
        "Retry-After": "1",
      });
    }
    this.counters.peakConcurrent = Math.max(this.counters.peakConcurrent, inFlight);
    try {
      if (this.options.latencyMs) await new Promise((r) => setTimeout(r, this.options.latencyMs));
      if (parsed) {
        this.counters.batches++;
        return this.batch(parsed, header(req.headers as Record<string, string>, "prefer") ?? "");
      }
      this.counters.operations++;
      return this.store.handle({
        method: req.method ?? "GET",
        url: req.url ?? "/",
        headers: req.headers as Record<string, string>,
        body,
      });
    } finally {
      this.protection.leave(user.appId);
    }
  }

  /** The caller's app id, or the 401/403 Dataverse answers. */
  private authenticate(req: IncomingMessage): { appId: string } | Response {
    const challenge = {
      "WWW-Authenticate": `Bearer authorization_uri=${this.ctx.origin}/${this.ctx.tenantId}/oauth2/authorize, resource_id=${this.ctx.origin}/`,
    };
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "");
    const verified = m ? this.ctx.signer.verify(m[1]) : { reason: "No bearer token." };
    if ("reason" in verified || !sameAudience(verified.claims.aud, this.ctx.origin)) {
      this.counters.unauthorized++;
      return { status: 401, headers: challenge, body: "" };
    }
    const appId = verified.claims.appid.toLowerCase();
    if (this.applicationUser === "missing" || appId !== this.ctx.clientId.toLowerCase()) {
      this.counters.forbidden++;
      return error(403, "0x80072560", "The user is not a member of the organization.");
    }
    if (this.applicationUser === "no-role") {
      this.counters.forbidden++;
      return error(
        403,
        "0x80040220",
        `Principal user (Id=${appId}, type=8, roleCount=0) is missing prvWriteadmin_AuditLog privilege (Id=${randomUUID()}) on OTC=10001 for entity 'admin_auditlog'.`,
      );
    }
    return { appId };
  }

  private batch(parts: BatchPart[], prefer: string): Response {
    const continueOnError = /odata\.continue-on-error/i.test(prefer);
    const boundary = `batchresponse_${randomUUID()}`;
    const out: string[] = [];
    for (const part of parts) {
      if (!Array.isArray(part)) {
        this.counters.operations++;
        const r = this.store.handle(part);
        out.push(httpPart(r));
        if (r.status >= 400 && !continueOnError) break;
        continue;
      }
      // A change set is one transaction: every operation or none.
      const before = this.store.snapshot();
      const results: { op: Operation; r: Response }[] = [];
      let failed: Response | undefined;
      for (const op of part) {
        this.counters.operations++;
        const r = this.store.handle(op);
        if (r.status >= 400) {
          failed = r;
          break;
        }
        results.push({ op, r });
      }
      if (failed) {
        this.store.restore(before);
        out.push(httpPart(failed));
        if (!continueOnError) break;
        continue;
      }
      const cs = `changesetresponse_${randomUUID()}`;
      const inner = results.map(({ op, r }) => httpPart(r, op.contentId));
      out.push(
        `Content-Type: multipart/mixed; boundary=${cs}\r\n\r\n${inner.map((p) => `--${cs}\r\n${p}`).join("")}--${cs}--\r\n`,
      );
    }
    const body = out.map((p) => `--${boundary}\r\n${p}`).join("") + `--${boundary}--\r\n`;
    return {
      status: 200,
      headers: { "OData-Version": "4.0", "Content-Type": `multipart/mixed; boundary=${boundary}` },
      body,
    };
  }
}

const REASONS: Record<number, string> = {
  200: "OK",
  204: "No Content",
  400: "Bad Request",
  404: "Not Found",
  405: "Method Not Allowed",
  412: "Precondition Failed",
};

function httpPart(r: Response, contentId?: string): string {
  const head = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"];
  if (contentId) head.push(`Content-ID: ${contentId}`);
  const lines = [`HTTP/1.1 ${r.status} ${REASONS[r.status] ?? ""}`.trim()];
  for (const [k, v] of Object.entries(r.headers)) lines.push(`${k}: ${v}`);
  return `${head.join("\r\n")}\r\n\r\n${lines.join("\r\n")}\r\n\r\n${r.body ?? ""}\r\n`;
}

/** A request on its own, or a change set's requests. */
type BatchPart = Operation | Operation[];

function boundaryOf(contentType: string): string | undefined {
  return /boundary=("?)([^";]+)\1/i.exec(contentType)?.[2];
}

/** Splits a multipart body on its boundary: the parts between the delimiters. */
function splitMultipart(body: string, boundary: string): string[] | undefined {
  const delimiter = `--${boundary}`;
  const end = body.indexOf(`${delimiter}--`);
  if (end < 0) return undefined;
  return body
    .slice(0, end)
    .split(delimiter)
    .slice(1)
    .map((p) => p.replace(/^\r?\n/, ""));
}

/** Headers up to the first blank line, and what follows. */
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

function parseOperation(part: string): Operation | undefined {
  const { headers: mime, rest } = headersAndRest(part);
  const [requestLine, ...after] = rest.split(/\r?\n/);
  const m = /^(GET|PATCH|POST|PUT|DELETE)\s+(\S+)\s+HTTP\/1\.1$/.exec(requestLine.trim());
  if (!m) return undefined;
  const { headers, rest: body } = headersAndRest(after.join("\r\n"));
  return { method: m[1], url: m[2], headers, body: body.trim(), contentId: mime["content-id"] };
}

function parseBatch(contentType: string, body: string): BatchPart[] | Response {
  const bad = (why: string) => error(400, "0x80060888", `The batch request is malformed: ${why}.`);
  const boundary = boundaryOf(contentType);
  if (!/^multipart\/mixed/i.test(contentType) || !boundary)
    return bad("Content-Type must be multipart/mixed with a boundary");
  const parts = splitMultipart(body, boundary);
  if (!parts) return bad(`no closing --${boundary}--`);
  const out: BatchPart[] = [];
  for (const part of parts) {
    const { headers } = headersAndRest(part);
    const type = headers["content-type"] ?? "";
    if (/^multipart\/mixed/i.test(type)) {
      const cs = boundaryOf(type);
      const inner = cs ? splitMultipart(headersAndRest(part).rest, cs) : undefined;
      if (!inner) return bad("a change set has no closing boundary");
      const ops = inner.map(parseOperation);
      if (ops.some((o) => !o || o.method === "GET"))
        return bad("a change set holds a request that is not a write");
      out.push(ops as Operation[]);
    } else {
      const op = parseOperation(part);
      if (!op) return bad("a part is not an application/http request");
      out.push(op);
    }
  }
  return out;
}
