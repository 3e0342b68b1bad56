/**
 * A Dataverse environment's Web API for the CoE audit tables, written from Microsoft Learn
 * (Power Apps developer docs, "Use the Microsoft Dataverse Web API"):
 * - "Update and delete table rows using the Web API": PATCH to `<set>(<key>)` is an upsert;
 *   `If-Match: *` makes it update only (404 when the row does not exist), `If-None-Match: *`
 *   create only (412 when it does); 204 No Content with an `OData-EntityId` header, or 200 with
 *   the row under `Prefer: return=representation`.
 * - "Create a table row using the Web API": POST to `<set>`, 204 with `OData-EntityId`, or 201
 *   with the row under `Prefer: return=representation`.
 * - "Perform conditional operations using the Web API": every row carries `@odata.etag`
 *   (W/"<versionnumber>"); GET with `If-None-Match: <etag>` of the current version answers 304
 *   Not Modified; PATCH or DELETE with `If-Match: <etag>` of an older version answers 412
 *   (0x80060882).
 * - "Retrieve a table row" and "Query data using the Web API": GET `<set>(<key>)`, and GET `<set>`
 *   with `$select`, `$filter` (see dataverse-query.ts), `$top`; pages of `Prefer:
 *   odata.maxpagesize=n` (default 5,000) linked by `@odata.nextLink` with a `$skiptoken`.
 * - "Associate and disassociate table rows": `<navigation>@odata.bind` = "<set>(<key>)"; a bind to a
 *   row that does not exist fails the request.
 * - "Use bulk operation messages" and the UpsertMultiple action reference: POST
 *   `<set>/Microsoft.Dynamics.CRM.UpsertMultiple` (and CreateMultiple, UpdateMultiple) with
 *   `Targets`, each carrying `@odata.type`; all or nothing on a standard table; 204 (CreateMultiple
 *   200 with `Ids`). Offered only for tables whose `sdkmessagefilters` list the message.
 * - "Execute batch operations using the Web API": POST `$batch` as multipart/mixed, change sets
 *   as nested multipart parts that succeed or roll back together, at most 1,000 requests. Without
 *   `Prefer: odata.continue-on-error` the first failure stops the batch and the batch answers 400
 *   with that failure; with it the batch answers 200 and every part has its own answer.
 * - "Service protection API limits": per user (per web server; the emulator is one), over a
 *   5-minute sliding window, 6,000 requests — a `$batch` or a bulk message is one request — and
 *   1,200 s of combined execution time, which every operation inside a batch and every record of
 *   a bulk message adds to; 52 concurrent requests. Over any, 429 with `Retry-After` in seconds
 *   (0x80072322, 0x80072321, 0x80072326). "Send parallel requests": answers carry `x-ms-dop-hint`,
 *   the recommended degree of parallelism.
 * - An app calls Dataverse only as an application user ("Manage application users in the Power
 *   Platform admin center"); without one the service answers 403 "The user is not a member of the
 *   organization" (0x80072560); without a security role that grants the table's privileges, 403
 *   "missing prv… privilege" (0x80040220).
 * Execution time is not measured (the emulator's work takes microseconds): each operation is
 * charged a cost of the order the docs' figures imply (1,200 s per 5 minutes is reached by a few
 * tens of thousands of writes at tens of ms each), and bulk records a fifth of that, Microsoft's
 * "up to 5× the throughput" of batches.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { randomUUID } from "node:crypto";
import {
  ADMIN_TABLES,
  ALL_TABLES,
  COE_TABLES,
  SYSTEM_USER_TABLE,
  type ColumnSpec,
  type TableSpec,
} from "./dataverse-tables";
import {
  filterPaths,
  FilterSyntaxError,
  matches,
  parseFilter,
  type Literal,
} from "./dataverse-query";
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
  /** Combined execution time (ms) per user in the sliding window. Default 1,200,000 (1,200 s). */
  executionMsPerWindow?: number;
  /** The sliding window of both limits. Default 5 minutes (tests shorten it). */
  windowMs?: number;
  /** Concurrent requests per user. Default 52. */
  maxConcurrent?: number;
  /**
   * Execution time charged per operation: a request on its own, or each operation of a `$batch`.
   * Default 20 ms.
   */
  operationCostMs?: number;
  /** Execution time charged per record of CreateMultiple/UpdateMultiple/UpsertMultiple. Default 4 ms. */
  bulkRecordCostMs?: number;
  /** The `x-ms-dop-hint` every answer carries. Default 4 (the value Microsoft's bulk sample prints). */
  dopHint?: number;
  /**
   * Whether the CoE tables have CreateMultiple/UpdateMultiple/UpsertMultiple (their message
   * filters listed in `sdkmessagefilters`). Default true; false stands for an environment without
   * them, where a client must fall back to `$batch`.
   */
  bulkMessages?: boolean;
  /** Every n-th request (counting from 1) answers 429 with Retry-After: 1. Default 0 (never). */
  throttleEvery?: number;
  /** Milliseconds each request takes (lets concurrency build up). Default 0. */
  latencyMs?: number;
  /**
   * Whether a request takes, in real time, the execution time it is charged (a bulk message of
   * 1,000 records 4 s at the default cost), so that a client's timeout meets large requests
   * first, as Dataverse's own 2-minute limits do. Default false (answers at once).
   */
  executionTakesTime?: boolean;
}

export interface DataverseRow {
  [column: string]: string | boolean | number | null;
}

export interface DataverseCounters {
  /** HTTP requests received (a `$batch` or a bulk message is one). */
  requests: number;
  batches: number;
  /** Bulk messages (CreateMultiple, UpdateMultiple, UpsertMultiple) served. */
  bulkRequests: number;
  /** Operations executed: one per request, per batch operation and per bulk record. */
  operations: number;
  /** Execution time charged, in ms. */
  executionMs: number;
  throttled: number;
  /** 429s for the number-of-requests limit. */
  requestLimitRejected: number;
  /** 429s for the execution-time limit. */
  executionLimitRejected: number;
  concurrencyRejected: number;
  unauthorized: number;
  forbidden: number;
  /** The most requests in flight at once (for one user). */
  peakConcurrent: number;
}

/**
 * One write request as the environment answered it: a `$batch` or a bulk message, with the
 * operations it carried (a batch's requests, a bulk message's Targets), so a test can see how
 * large a client's requests were and which of them service protection refused.
 */
export interface DataverseWriteRequest {
  kind: "batch" | "bulk";
  operations: number;
  status: number;
  /** Dataverse's error code of a refused request (e.g. 0x80072321 for the execution time). */
  code?: string;
}

/** Write requests the environment remembers (the most recent; older ones are dropped). */
const WRITE_LOG_SIZE = 10_000;

interface Response {
  status: number;
  headers: Record<string, string>;
  body?: string;
  /** Records a bulk message wrote (charged at the bulk rate instead of one operation). */
  records?: number;
}

interface Operation {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  contentId?: string;
  /**
   * Who calls: the environment's administrator (the deployer's own sign-in) may do anything; an
   * application user only what its role grants (the CoE tables). Default "administrator".
   */
  caller?: "administrator" | "application";
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
const BULK_MESSAGES = ["CreateMultiple", "UpdateMultiple", "UpsertMultiple"] as const;
type BulkMessage = (typeof BULK_MESSAGES)[number];
const DEFAULT_PAGE_SIZE = 5000;
/** The Azure CLI's public client id: the appid of a token `az account get-access-token` issues. */
const AZURE_CLI_CLIENT_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";

/** Roles seeded in the root business unit; the first two grant the CoE tables' privileges. */
export const SYSTEM_ADMINISTRATOR = "System Administrator";
/** The CoE Starter Kit's admin role (CenterofExcellenceCoreComponents/…/Roles/Power Platform Admin SR.xml). */
export const COE_ADMIN_ROLE = "Power Platform Admin SR";
const SEEDED_ROLES = [
  SYSTEM_ADMINISTRATOR,
  COE_ADMIN_ROLE,
  "Power Platform Maker SR",
  "Basic User",
];
const COE_WRITER_ROLES = new Set([SYSTEM_ADMINISTRATOR, COE_ADMIN_ROLE]);

/**
 * The CoE "Audit Logs - …" environment variables (schema name, type), as the CoE solution's
 * environmentvariabledefinitions declare them.
 */
const COE_ENVIRONMENT_VARIABLES: [string, string, number, string | null][] = [
  ["admin_AuditLogsAudience", "Audit Logs - Audience", 100000000, null],
  ["admin_AuditLogsAuthority", "Audit Logs - Authority", 100000000, null],
  ["admin_AuditLogsClientID", "Audit Logs - ClientID", 100000000, null],
  ["admin_AuditLogsClientSecret", "Audit Logs - Client Secret", 100000000, null],
  ["admin_AuditLogsClientAzureSecret", "Audit Logs - Client Azure Secret", 100000005, null],
  ["admin_AuditLogsUseGraphAPI", "Audit Logs - Use Graph API", 100000002, "no"],
  ["admin_AuditLogsMinutestoLookBack", "Audit Logs - Minutes to Look Back", 100000001, "65"],
  ["admin_AuditLogsEndTimeMinutesAgo", "Audit Logs - End Time Minutes Ago", 100000001, null],
];

const etagOf = (row: DataverseRow) => `W/"${row.versionnumber}"`;

/** How a write treats an existing row: upsert either way, or only one of the two. */
type WriteMode = "upsert" | "create" | "update";

/** The tables and their rows: what tests compare with the ground truth. */
export class DataverseStore {
  private readonly tables = new Map<string, Map<string, DataverseRow>>();
  private version = 1000;
  /** Prior values of every row a running transaction touched, to restore on failure. */
  private journal: [string, string, DataverseRow | undefined][] | undefined;
  /** N:N links by navigation property, each "<from id>|<to id>" (not rolled back by change sets). */
  private readonly links = new Map<string, Set<string>>();
  /** The root business unit (its parent is null). */
  readonly rootBusinessUnitId = randomUUID();

  constructor(
    readonly origin: string,
    options: { bulkMessages?: boolean } = {},
  ) {
    for (const t of ALL_TABLES) this.tables.set(t.entitySet, new Map());
    this.seed("businessunits", this.rootBusinessUnitId, {
      name: "org-root",
      _parentbusinessunitid_value: null,
    });
    for (const name of SEEDED_ROLES)
      this.seed("roles", randomUUID(), {
        name,
        _businessunitid_value: this.rootBusinessUnitId,
      });
    for (const [schemaname, displayname, type, defaultvalue] of COE_ENVIRONMENT_VARIABLES)
      this.seed("environmentvariabledefinitions", randomUUID(), {
        schemaname,
        displayname,
        type,
        defaultvalue,
      });
    const messages = new Map<string, string>();
    for (const name of ["Create", "Update", "Upsert", "Delete", ...BULK_MESSAGES]) {
      const id = randomUUID();
      messages.set(name, id);
      this.seed("sdkmessages", id, { name });
    }
    for (const t of COE_TABLES) {
      const offered = ["Create", "Update", "Upsert", "Delete"];
      if (t.bulk && options.bulkMessages !== false) offered.push(...BULK_MESSAGES);
      for (const name of offered)
        this.seed("sdkmessagefilters", randomUUID(), {
          primaryobjecttypecode: t.logicalName,
          _sdkmessageid_value: messages.get(name)!,
        });
    }
  }

  spec(entitySet: string): TableSpec | undefined {
    return ALL_TABLES.find((t) => t.entitySet === entitySet);
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
    this.put(entitySet, id.toLowerCase(), {
      ...row,
      [spec.key]: id.toLowerCase(),
      versionnumber: this.version++,
    });
  }

  private put(entitySet: string, id: string, row: DataverseRow | undefined): void {
    const table = this.tables.get(entitySet)!;
    this.journal?.push([entitySet, id, table.get(id)]);
    if (row) table.set(id, row);
    else table.delete(id);
  }

  /** Runs `work` as one transaction: when it answers an error, every row it wrote is restored. */
  transaction(work: () => Response): Response {
    const outer = this.journal;
    const journal: [string, string, DataverseRow | undefined][] = [];
    this.journal = journal;
    let result: Response | undefined;
    try {
      result = work();
      return result;
    } finally {
      this.journal = outer;
      if (!result || result.status >= 400) {
        for (const [set, id, prior] of journal.reverse()) {
          if (prior) this.tables.get(set)!.set(id, prior);
          else this.tables.get(set)!.delete(id);
        }
      } else outer?.push(...journal);
    }
  }

  /** Whether `sdkmessagefilters` lists the message for the table (logical name). */
  hasMessage(logicalName: string, message: string): boolean {
    const ids = this.rows("sdkmessages")
      .filter((m) => m.name === message)
      .map((m) => m.sdkmessageid);
    return this.rows("sdkmessagefilters").some(
      (f) => f.primaryobjecttypecode === logicalName && ids.includes(f._sdkmessageid_value),
    );
  }

  roleId(name: string): string | undefined {
    return this.rows("roles").find((r) => r.name === name)?.roleid as string | undefined;
  }

  /** The systemuser of an Entra app (its application user), if any. */
  applicationUser(appId: string): DataverseRow | undefined {
    return this.rows("systemusers").find(
      (u) => String(u.applicationid).toLowerCase() === appId.toLowerCase(),
    );
  }

  /** The names of the roles a user has. */
  rolesOf(userId: string): string[] {
    const links = this.links.get("systemuserroles_association") ?? new Set<string>();
    return this.rows("roles")
      .filter((r) => links.has(`${userId}|${String(r.roleid)}`))
      .map((r) => String(r.name));
  }

  /** Whether the user has a role that grants writing the CoE tables. */
  canWriteCoeTables(userId: string): boolean {
    return this.rolesOf(userId).some((name) => COE_WRITER_ROLES.has(name));
  }

  /** Links or unlinks two rows through an N:N navigation property, as an admin would. */
  link(navigation: string, from: string, to: string, linked: boolean): void {
    const links = this.links.get(navigation) ?? new Set<string>();
    this.links.set(navigation, links);
    if (linked) links.add(`${from.toLowerCase()}|${to.toLowerCase()}`);
    else links.delete(`${from.toLowerCase()}|${to.toLowerCase()}`);
  }

  /** One request of the Web API, already authenticated and admitted. */
  handle(op: Operation): Response {
    const url = new URL(op.url, this.origin);
    if (!url.pathname.startsWith(`${WEB_API_PATH}/`))
      return error(404, "0x80060888", `Resource not found for the segment '${url.pathname}'.`);
    const segment = decodeURIComponent(url.pathname.slice(WEB_API_PATH.length + 1));
    const related = /^([a-z_]+)\(([^)]*)\)\/([A-Za-z_]+)(?:\(([^)]*)\))?(\/\$ref)?$/.exec(segment);
    if (related) return this.related(op, url, related);
    const entity = /^([a-z_]+)\(([^)]*)\)$/i.exec(segment);
    const action = /^([a-z_]+)\/Microsoft\.Dynamics\.CRM\.([A-Za-z]+)$/.exec(segment);
    const set = entity?.[1] ?? action?.[1] ?? segment;
    if (segment === "WhoAmI" && op.method === "GET") return this.whoAmI();
    const spec = this.spec(set);
    if (!spec) return error(404, "0x80060888", `Resource not found for the segment '${set}'.`);
    if (op.method !== "GET" && op.caller === "application" && ADMIN_TABLES.includes(spec))
      return missingPrivilege(spec.logicalName, op.method === "POST" ? "Create" : "Write");
    if (action) {
      const message = action[2];
      if (op.method !== "POST" || !(BULK_MESSAGES as readonly string[]).includes(message))
        return error(
          404,
          "0x80060888",
          `Resource not found for the segment 'Microsoft.Dynamics.CRM.${message}'.`,
        );
      return this.bulk(spec, message as BulkMessage, op);
    }
    if (!entity) {
      if (op.method === "GET") return this.query(spec, url, op.headers);
      if (op.method === "POST") return this.create(spec, url, op);
      return error(405, "0x80060888", `The HTTP method '${op.method}' is not allowed on ${set}.`);
    }
    const id = entity[2].replace(/^'|'$/g, "");
    if (!GUID.test(id))
      return error(
        400,
        "0x80060888",
        `Bad Request - Error in query syntax: '${entity[2]}' is not a valid key for ${set}.`,
      );
    if (op.method === "GET") return this.retrieve(spec, id, url, op.headers);
    if (op.method === "PATCH") return this.patch(spec, id, url, op);
    if (op.method === "DELETE") return this.remove(spec, id, op.headers);
    return error(405, "0x80060888", `The HTTP method '${op.method}' is not emulated.`);
  }

  /**
   * A collection-valued navigation property of a row ("Associate and disassociate table rows
   * using the Web API"): GET `<set>(<id>)/<nav>` lists the related rows; POST
   * `<set>(<id>)/<nav>/$ref` with `{"@odata.id": "<url of the related row>"}` links them; DELETE
   * `<set>(<id>)/<nav>(<related id>)/$ref` (or `…/<nav>/$ref?$id=<url>`) unlinks them.
   */
  private related(op: Operation, url: URL, m: RegExpExecArray): Response {
    const [, set, rawId, navigation, rawRelated, ref] = m;
    const spec = this.spec(set);
    if (!spec) return error(404, "0x80060888", `Resource not found for the segment '${set}'.`);
    const target = spec.associations?.[navigation];
    if (!target)
      return error(
        400,
        "0x80060888",
        `Resource not found for the segment '${navigation}' of ${spec.logicalName}: no such collection-valued navigation property.`,
      );
    const id = rawId.replace(/^'|'$/g, "").toLowerCase();
    if (!this.get(set, id)) return notFound(spec, id);
    const targetSpec = this.spec(target)!;
    const links = this.links.get(navigation) ?? new Set<string>();
    this.links.set(navigation, links);
    if (op.method === "GET" && !ref) {
      const rows = [...this.tables.get(target)!.values()].filter((r) =>
        links.has(`${id}|${String(r[targetSpec.key])}`),
      );
      return this.query(targetSpec, url, op.headers, rows);
    }
    if (!ref)
      return error(405, "0x80060888", `The HTTP method '${op.method}' is not allowed here.`);
    if (op.caller === "application") return missingPrivilege(spec.logicalName, "Write");
    const refOf = (text: string | null | undefined) =>
      text
        ? new RegExp(`^(?:.*/)?${target}\\(([^)]+)\\)$`).exec(text)?.[1]?.toLowerCase()
        : undefined;
    if (op.method === "POST") {
      const parsed = this.parseBody(op.body);
      if ("error" in parsed) return parsed.error;
      const other = refOf(parsed.body["@odata.id"] as string | undefined);
      if (!other)
        return error(
          400,
          "0x80060888",
          `The body must be {"@odata.id": "<url of a ${targetSpec.logicalName}>"}.`,
        );
      if (!this.get(target, other)) return notFound(targetSpec, other);
      if (links.has(`${id}|${other}`))
        return error(400, "0x80040237", "Cannot insert duplicate key.");
      links.add(`${id}|${other}`);
      return { status: 204, headers: { "OData-Version": "4.0" } };
    }
    if (op.method === "DELETE") {
      const other =
        rawRelated?.replace(/^'|'$/g, "").toLowerCase() ?? refOf(url.searchParams.get("$id"));
      if (!other)
        return error(400, "0x80060888", "Name the related row: <nav>(<id>)/$ref or $id=<url>.");
      links.delete(`${id}|${other}`);
      return { status: 204, headers: { "OData-Version": "4.0" } };
    }
    return error(405, "0x80060888", `The HTTP method '${op.method}' is not allowed here.`);
  }

  private whoAmI(): Response {
    return {
      status: 200,
      headers: { ...ODATA_HEADERS },
      body: JSON.stringify({
        "@odata.context": `${this.origin}${WEB_API_PATH}/$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse`,
        BusinessUnitId: "00000000-0000-0000-0000-000000000000",
        UserId: "00000000-0000-0000-0000-000000000000",
        OrganizationId: "00000000-0000-0000-0000-000000000000",
      }),
    };
  }

  /** The columns a client may name in `$select`/`$filter`: key, columns, lookups' `_x_value`. */
  private properties(spec: TableSpec): Set<string> {
    return new Set([
      spec.key,
      "versionnumber",
      ...Object.keys(spec.columns),
      ...Object.keys(spec.lookups).map((l) => `_${l}_value`),
    ]);
  }

  private unknownProperty(spec: TableSpec, name: string): Response {
    return error(
      400,
      "0x80060888",
      `Could not find a property named '${name}' on type 'Microsoft.Dynamics.CRM.${spec.logicalName}'.`,
    );
  }

  private select(spec: TableSpec, url: URL): string[] | undefined | Response {
    const select = url.searchParams
      .get("$select")
      ?.split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    const known = this.properties(spec);
    const bad = select?.find((s) => !known.has(s));
    return bad ? this.unknownProperty(spec, bad) : select;
  }

  private present(
    spec: TableSpec,
    row: DataverseRow,
    select: string[] | undefined,
  ): Record<string, unknown> {
    const out: Record<string, unknown> = { "@odata.etag": etagOf(row) };
    for (const [k, v] of Object.entries(row)) {
      if (k === "versionnumber") continue;
      if (!select || select.includes(k) || k === spec.key) out[k] = v;
    }
    return out;
  }

  private retrieve(
    spec: TableSpec,
    id: string,
    url: URL,
    headers: Record<string, string>,
  ): Response {
    const select = this.select(spec, url);
    if (select && !Array.isArray(select)) return select;
    const row = this.get(spec.entitySet, id);
    if (!row) return notFound(spec, id);
    const ifNoneMatch = header(headers, "if-none-match");
    // Clients send `If-None-Match: null` by habit (every example in the docs does): no condition.
    if (ifNoneMatch && ifNoneMatch !== "null" && ifNoneMatch === etagOf(row))
      return { status: 304, headers: { "OData-Version": "4.0" } };
    const body = {
      "@odata.context": `${this.origin}${WEB_API_PATH}/$metadata#${spec.entitySet}/$entity`,
      ...this.present(spec, row, select),
    };
    return {
      status: 200,
      headers: { ...ODATA_HEADERS, ETag: etagOf(row) },
      body: JSON.stringify(body),
    };
  }

  private query(
    spec: TableSpec,
    url: URL,
    headers: Record<string, string>,
    source: Iterable<DataverseRow> = this.tables.get(spec.entitySet)!.values(),
  ): Response {
    const select = this.select(spec, url);
    if (select && !Array.isArray(select)) return select;
    const filterText = url.searchParams.get("$filter");
    let filter: ReturnType<typeof parseFilter> | undefined;
    if (filterText) {
      try {
        filter = parseFilter(filterText);
      } catch (err) {
        if (!(err instanceof FilterSyntaxError)) throw err;
        return error(400, "0x80060888", `Syntax error in $filter '${filterText}': ${err.message}.`);
      }
      for (const path of filterPaths(filter)) {
        const problem = this.checkPath(spec, path);
        if (problem) return problem;
      }
    }
    const topText = url.searchParams.get("$top");
    const top = topText === null ? undefined : Number(topText);
    if (top !== undefined && (!Number.isInteger(top) || top < 0))
      return error(400, "0x80060888", `The value '${topText}' of $top is not a positive integer.`);
    const maxPageSize = /odata\.maxpagesize=(\d+)/i.exec(header(headers, "prefer") ?? "")?.[1];
    const pageSize = maxPageSize ? Math.max(1, Number(maxPageSize)) : DEFAULT_PAGE_SIZE;
    const skipToken = url.searchParams.get("$skiptoken");
    const after = skipToken ? /last="([^"]+)"/.exec(skipToken)?.[1] : undefined;
    if (skipToken && !after)
      return error(400, "0x80060888", "The $skiptoken is not one this service issued.");
    // Without $orderby the service returns rows in primary key order, which paging follows.
    const rows = [...source]
      .filter((r) => !after || String(r[spec.key]) > after)
      .filter((r) => !filter || matches(filter, (path) => this.resolve(spec, r, path)))
      .sort((a, b) => (String(a[spec.key]) < String(b[spec.key]) ? -1 : 1));
    const limit = top ?? pageSize;
    const page = rows.slice(0, limit);
    const context = `${this.origin}${WEB_API_PATH}/$metadata#${spec.entitySet}${select ? `(${select.join(",")})` : ""}`;
    const body: Record<string, unknown> = {
      "@odata.context": context,
      value: page.map((r) => this.present(spec, r, select)),
    };
    const out: Record<string, string> = { ...ODATA_HEADERS };
    if (maxPageSize && top === undefined)
      out["Preference-Applied"] = `odata.maxpagesize=${pageSize}`;
    if (top === undefined && rows.length > page.length) {
      const next = new URL(url.toString());
      const pageNumber = Number(/pagenumber="(\d+)"/.exec(skipToken ?? "")?.[1] ?? "1") + 1;
      next.searchParams.set(
        "$skiptoken",
        `<cookie pagenumber="${pageNumber}" last="${String(page[page.length - 1][spec.key])}" istracking="False" />`,
      );
      body["@odata.nextLink"] = next.toString();
    }
    return { status: 200, headers: out, body: JSON.stringify(body) };
  }

  /** The 400 for a filter path the table does not have, or undefined when it has it. */
  private checkPath(spec: TableSpec, path: string[]): Response | undefined {
    if (path.length === 1)
      return this.properties(spec).has(path[0]) ? undefined : this.unknownProperty(spec, path[0]);
    const lookup = Object.values(spec.lookups).find((l) => l.navigation === path[0]);
    if (!lookup || path.length !== 2) return this.unknownProperty(spec, path.join("/"));
    const target = this.spec(lookup.target)!;
    return this.properties(target).has(path[1]) ? undefined : this.unknownProperty(target, path[1]);
  }

  private resolve(spec: TableSpec, row: DataverseRow, path: string[]): Literal | undefined {
    if (path.length === 1) return row[path[0]];
    const [column, lookup] = Object.entries(spec.lookups).find(
      ([, l]) => l.navigation === path[0],
    )!;
    const related = row[`_${column}_value`];
    return typeof related === "string" ? this.get(lookup.target, related)?.[path[1]] : undefined;
  }

  private parseBody(text: string): { body: Record<string, unknown> } | { error: Response } {
    let body: unknown;
    try {
      body = JSON.parse(text || "{}");
    } catch {
      return { error: error(400, "0x80060891", "The request body is not valid JSON.") };
    }
    if (!body || typeof body !== "object" || Array.isArray(body))
      return { error: error(400, "0x80060891", "The request body must be a JSON object.") };
    return { body: body as Record<string, unknown> };
  }

  private patch(spec: TableSpec, id: string, url: URL, op: Operation): Response {
    const parsed = this.parseBody(op.body);
    if ("error" in parsed) return parsed.error;
    const { body } = parsed;
    const ifMatch = header(op.headers, "if-match");
    const ifNoneMatch = header(op.headers, "if-none-match");
    const existing = this.get(spec.entitySet, id);
    let mode: WriteMode = "upsert";
    if (ifMatch) {
      mode = "update";
      if (existing && ifMatch !== "*" && ifMatch !== etagOf(existing))
        return error(
          412,
          "0x80060882",
          "The version of the existing record doesn't match the RowVersion property provided.",
        );
    } else if (ifNoneMatch === "*") mode = "create";
    const written = this.write(spec, id, body, mode);
    if ("error" in written) return written.error;
    return this.answerWrite(spec, written.row, url, op.headers, 200);
  }

  private create(spec: TableSpec, url: URL, op: Operation): Response {
    const parsed = this.parseBody(op.body);
    if ("error" in parsed) return parsed.error;
    const { body } = parsed;
    if (spec === SYSTEM_USER_TABLE) {
      const problem = this.checkApplicationUser(body);
      if (problem) return problem;
    }
    const given = body[spec.key];
    const id = typeof given === "string" ? given : randomUUID();
    const written = this.write(spec, id, body, "create");
    if ("error" in written) return written.error;
    return this.answerWrite(spec, written.row, url, op.headers, 201);
  }

  /**
   * Only application users are emulated: a systemuser created with `applicationid` and a business
   * unit ("Manage application users"; the Web API creates one with
   * `{"applicationid": …, "businessunitid@odata.bind": "/businessunits(<id>)"}`), one per app.
   */
  private checkApplicationUser(body: Record<string, unknown>): Response | undefined {
    const appId = body.applicationid;
    if (typeof appId !== "string" || !GUID.test(appId))
      return error(
        400,
        "0x80060888",
        "Only application users are emulated: POST systemusers needs 'applicationid' (the Entra app's client id).",
      );
    if (body["businessunitid@odata.bind"] === undefined)
      return error(400, "0x80040200", "An application user needs 'businessunitid@odata.bind'.");
    if (this.applicationUser(appId))
      return error(
        400,
        "0x80040237",
        `An application user for the application id ${appId.toLowerCase()} already exists.`,
      );
    body.fullname ??= `# ${appId.toLowerCase()}`;
    body.isdisabled ??= false;
    return undefined;
  }

  private remove(spec: TableSpec, id: string, headers: Record<string, string>): Response {
    const existing = this.get(spec.entitySet, id);
    if (!existing) return notFound(spec, id);
    // "Only application users with the inactive state can be deleted." (Manage application users)
    if (spec === SYSTEM_USER_TABLE && existing.isdisabled !== true)
      return error(
        400,
        "0x80040225",
        "Only application users with the inactive state can be deleted: deactivate it first (isdisabled = true).",
      );
    const ifMatch = header(headers, "if-match");
    if (ifMatch && ifMatch !== "*" && ifMatch !== etagOf(existing))
      return error(
        412,
        "0x80060882",
        "The version of the existing record doesn't match the RowVersion property provided.",
      );
    this.put(spec.entitySet, id.toLowerCase(), undefined);
    for (const navigation of Object.keys(spec.associations ?? {})) {
      const links = this.links.get(navigation);
      for (const link of links ?? [])
        if (link.startsWith(`${id.toLowerCase()}|`)) links!.delete(link);
    }
    return { status: 204, headers: { "OData-Version": "4.0" } };
  }

  /** 204 with the row's URL, or the row itself when the client prefers a representation. */
  private answerWrite(
    spec: TableSpec,
    row: DataverseRow,
    url: URL,
    headers: Record<string, string>,
    representationStatus: number,
  ): Response {
    const entityId = `${this.origin}${WEB_API_PATH}/${spec.entitySet}(${String(row[spec.key])})`;
    if (!/return=representation/i.test(header(headers, "prefer") ?? ""))
      return { status: 204, headers: { "OData-Version": "4.0", "OData-EntityId": entityId } };
    const select = this.select(spec, url);
    if (select && !Array.isArray(select)) return select;
    return {
      status: representationStatus,
      headers: {
        ...ODATA_HEADERS,
        "OData-EntityId": entityId,
        ETag: etagOf(row),
        "Preference-Applied": "return=representation",
      },
      body: JSON.stringify({
        "@odata.context": `${this.origin}${WEB_API_PATH}/$metadata#${spec.entitySet}/$entity`,
        ...this.present(spec, row, select),
      }),
    };
  }

  /** Validates and writes one row; answers the row written or Dataverse's error. */
  private write(
    spec: TableSpec,
    id: string,
    body: Record<string, unknown>,
    mode: WriteMode,
  ): { row: DataverseRow } | { error: Response } {
    if (!GUID.test(id))
      return { error: error(400, "0x80060888", `The value of '${spec.key}' is not a GUID.`) };
    const existing = this.get(spec.entitySet, id);
    if (mode === "update" && !existing) return { error: notFound(spec, id) };
    if (mode === "create" && existing)
      return {
        error: error(412, "0x80040237", "A record with matching key values already exists."),
      };
    const validated = this.validate(spec, body);
    if ("error" in validated) return validated;
    const { changes } = validated;
    if (!existing) {
      for (const [name, col] of Object.entries(spec.columns)) {
        if (col.required && changes[name] === undefined)
          return {
            error: error(
              400,
              "0x80040200",
              `The column '${name}' of '${spec.logicalName}' is required.`,
            ),
          };
      }
    }
    const row: DataverseRow = {
      ...(existing ?? { [spec.key]: id.toLowerCase() }),
      ...changes,
      versionnumber: this.version++,
    };
    this.put(spec.entitySet, id.toLowerCase(), row);
    return { row };
  }

  private bulk(spec: TableSpec, message: BulkMessage, op: Operation): Response {
    if (!this.hasMessage(spec.logicalName, message))
      return error(
        400,
        "0x80040265",
        `The '${message}' message is not available for the '${spec.logicalName}' table: its sdkmessagefilters do not list it.`,
      );
    const parsed = this.parseBody(op.body);
    if ("error" in parsed) return parsed.error;
    const { body } = parsed;
    const targets = body.Targets;
    if (!Array.isArray(targets) || targets.length === 0)
      return error(400, "0x80060888", `${message} needs a non-empty 'Targets' array.`);
    const type = `Microsoft.Dynamics.CRM.${spec.logicalName}`;
    const mode: WriteMode =
      message === "CreateMultiple" ? "create" : message === "UpdateMultiple" ? "update" : "upsert";
    const ids: string[] = [];
    // On a standard table a bulk message is one transaction: one bad record fails them all.
    const answer = this.transaction(() => {
      for (const [i, target] of targets.entries()) {
        if (!target || typeof target !== "object" || Array.isArray(target))
          return error(400, "0x80060888", `Targets[${i}] is not an object.`);
        const {
          "@odata.type": odataType,
          "@odata.id": odataId,
          ...rest
        } = target as Record<string, unknown>;
        if (odataType !== type)
          return error(
            400,
            "0x80060888",
            `Targets[${i}] must carry "@odata.type": "${type}" (found ${JSON.stringify(odataType ?? null)}).`,
          );
        const ref =
          typeof odataId === "string"
            ? new RegExp(`^(?:.*/)?${spec.entitySet}\\(([^)]+)\\)$`).exec(odataId)?.[1]
            : undefined;
        if (odataId !== undefined && !ref)
          return error(
            400,
            "0x80060888",
            `Targets[${i}] "@odata.id" must reference ${spec.entitySet}(<id>).`,
          );
        const key =
          ref ?? (typeof rest[spec.key] === "string" ? (rest[spec.key] as string) : undefined);
        if (!key && mode === "update")
          return error(400, "0x80060888", `Targets[${i}] has no '${spec.key}' to update.`);
        const written = this.write(spec, key ?? randomUUID(), rest, mode);
        if ("error" in written) return written.error;
        ids.push(String(written.row[spec.key]));
      }
      return message === "CreateMultiple"
        ? {
            status: 200,
            headers: { ...ODATA_HEADERS },
            body: JSON.stringify({
              "@odata.context": `${this.origin}${WEB_API_PATH}/$metadata#Microsoft.Dynamics.CRM.CreateMultipleResponse`,
              Ids: ids,
            }),
          }
        : { status: 204, headers: { "OData-Version": "4.0" } };
    });
    return { ...answer, records: targets.length };
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
          : col.type === "guid" && typeof value === "string"
            ? value.toLowerCase()
            : (value as string | boolean | number | null);
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
  const wrongType = (edm: string) =>
    error(
      400,
      "0x80060888",
      `Cannot convert the literal '${String(value)}' to the expected type '${edm}' for '${name}'.`,
    );
  if (col.type === "bool" && typeof value !== "boolean") return wrongType("Edm.Boolean");
  if (col.type === "int" && !Number.isInteger(value)) return wrongType("Edm.Int32");
  if (col.type === "guid" && (typeof value !== "string" || !GUID.test(value)))
    return wrongType("Edm.Guid");
  if (col.type === "datetime" && (typeof value !== "string" || Number.isNaN(Date.parse(value))))
    return wrongType("Edm.DateTimeOffset");
  if (col.type === "text") {
    if (typeof value !== "string") return wrongType("Edm.String");
    if (value.length > col.maxLength!)
      return error(
        400,
        "0x80044331",
        `A validation error occurred. The length of the '${name}' attribute of the '${spec.logicalName}' entity exceeded the maximum allowed length of '${col.maxLength}'.`,
      );
  }
  return undefined;
}

function missingPrivilege(logicalName: string, verb: string): Response {
  return error(
    403,
    "0x80040220",
    `Principal user is missing prv${verb}${logicalName} privilege for entity '${logicalName}'.`,
  );
}

function notFound(spec: TableSpec, id: string): Response {
  return error(404, "0x80040217", `${spec.logicalName} With Id = ${id} Does Not Exist`);
}

function header(headers: Record<string, string>, name: string): string | undefined {
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === name) return v.trim();
  return undefined;
}

/** What the service protection limits say of one more request, in ms to wait (0: admitted). */
interface Admission {
  waitMs: number;
  limit?: "requests" | "execution";
}

/**
 * The per-user sliding windows (request count and execution time) and concurrency of the service
 * protection limits. A request is refused while the window already holds the limit; its
 * execution time is added once it ran, so one long request can take the window over the limit
 * (the docs: "it's possible to request operations that require more than 20 minutes").
 */
class ServiceProtection {
  private readonly stamps = new Map<string, number[]>();
  private readonly execution = new Map<string, [number, number][]>();
  private readonly inFlight = new Map<string, number>();

  constructor(
    private readonly requestLimit: number,
    private readonly executionLimitMs: number,
    private readonly windowMs: number,
    private readonly maxConcurrent: number,
  ) {}

  private window<T>(map: Map<string, T[]>, user: string, nowMs: number, at: (e: T) => number): T[] {
    const kept = (map.get(user) ?? []).filter((e) => at(e) > nowMs - this.windowMs);
    map.set(user, kept);
    return kept;
  }

  /** Admits one request (and counts it) or says how long until one would be admitted. */
  admit(user: string, nowMs: number): Admission {
    const stamps = this.window(this.stamps, user, nowMs, (t) => t);
    const spent = this.window(this.execution, user, nowMs, ([t]) => t);
    let total = spent.reduce((n, [, ms]) => n + ms, 0);
    if (total >= this.executionLimitMs) {
      // Wait until enough of the oldest execution time leaves the window.
      let waitUntil = nowMs;
      for (const [t, ms] of spent) {
        total -= ms;
        waitUntil = t + this.windowMs;
        if (total < this.executionLimitMs) break;
      }
      return { waitMs: Math.max(1, waitUntil - nowMs), limit: "execution" };
    }
    if (stamps.length >= this.requestLimit) {
      const oldest = stamps[stamps.length - this.requestLimit];
      return { waitMs: Math.max(1, oldest + this.windowMs - nowMs), limit: "requests" };
    }
    stamps.push(nowMs);
    return { waitMs: 0 };
  }

  charge(user: string, nowMs: number, ms: number): void {
    if (ms > 0) this.window(this.execution, user, nowMs, ([t]) => t).push([nowMs, ms]);
  }

  /** What is left of the window's limits (the x-ms-ratelimit-* headers). */
  remaining(user: string, nowMs: number): { requests: number; executionMs: number } {
    const stamps = this.window(this.stamps, user, nowMs, (t) => t);
    const spent = this.window(this.execution, user, nowMs, ([t]) => t);
    return {
      requests: Math.max(0, this.requestLimit - stamps.length),
      executionMs: Math.max(0, this.executionLimitMs - spent.reduce((n, [, ms]) => n + ms, 0)),
    };
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
    bulkRequests: 0,
    operations: 0,
    executionMs: 0,
    throttled: 0,
    requestLimitRejected: 0,
    executionLimitRejected: 0,
    concurrencyRejected: 0,
    unauthorized: 0,
    forbidden: 0,
    peakConcurrent: 0,
  };
  /** The deployer's object id: a systemuser with System Administrator. */
  readonly administratorObjectId = randomUUID();
  /** While true every request answers 503 (an outage of the environment). */
  down = false;
  /** The write requests answered, oldest first (at most WRITE_LOG_SIZE). */
  readonly writes: DataverseWriteRequest[] = [];
  private readonly protection: ServiceProtection;
  private readonly operationCostMs: number;
  private readonly bulkRecordCostMs: number;

  constructor(
    private readonly ctx: DataverseContext,
    private readonly options: DataverseOptions = {},
  ) {
    this.store = new DataverseStore(ctx.origin, { bulkMessages: options.bulkMessages });
    const administrator = randomUUID();
    this.store.seed("systemusers", administrator, {
      azureactivedirectoryobjectid: this.administratorObjectId,
      fullname: "Environment administrator",
      isdisabled: false,
      _businessunitid_value: this.store.rootBusinessUnitId,
    });
    this.store.link(
      "systemuserroles_association",
      administrator,
      this.store.roleId(SYSTEM_ADMINISTRATOR)!,
      true,
    );
    this.setApplicationUser(options.applicationUser ?? "present");
    this.protection = new ServiceProtection(
      options.requestsPerWindow ?? 6000,
      options.executionMsPerWindow ?? 1_200_000,
      options.windowMs ?? 5 * 60_000,
      options.maxConcurrent ?? 52,
    );
    this.operationCostMs = options.operationCostMs ?? 20;
    this.bulkRecordCostMs = options.bulkRecordCostMs ?? 4;
  }

  async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const reply = await this.answer(req);
    res.writeHead(reply.status, reply.headers);
    res.end(reply.body ?? "");
  }

  private async answer(req: IncomingMessage): Promise<Response> {
    this.counters.requests++;
    const requestId = randomUUID();
    const body = await readBody(req, 16 * 1024 * 1024);
    if (this.down)
      return error(503, "0x80040216", "The service is temporarily unavailable.", {
        "Retry-After": "1",
      });
    const user = this.authenticate(req);
    if ("status" in user) return user;
    const answer = await this.admitted(req, body, user.appId, user.caller);
    this.logWrite(req, body, answer);
    const left = this.protection.remaining(user.appId, Date.now());
    answer.headers = {
      ...answer.headers,
      REQ_ID: requestId,
      "x-ms-service-request-id": requestId,
      "x-ms-dop-hint": String(this.options.dopHint ?? 4),
      "x-ms-ratelimit-burst-remaining-xrm-requests": String(left.requests),
      "x-ms-ratelimit-time-remaining-xrm-requests": String(left.executionMs),
    };
    return answer;
  }

  private async admitted(
    req: IncomingMessage,
    body: string,
    appId: string,
    caller: "administrator" | "application",
  ): Promise<Response> {
    const url = new URL(req.url ?? "/", this.ctx.origin);
    const isBatch = req.method === "POST" && url.pathname === `${WEB_API_PATH}/$batch`;
    const parsed = isBatch ? parseBatch(req.headers["content-type"] ?? "", body) : undefined;
    if (parsed && "status" in parsed) return parsed;
    const size = parsed ? parsed.reduce((n, p) => n + (Array.isArray(p) ? p.length : 1), 0) : 1;
    if (parsed && size > 1000)
      return error(
        400,
        "0x80060888",
        `The number of requests in a batch (${size}) exceeds the maximum of 1000.`,
      );

    const every = this.options.throttleEvery ?? 0;
    const now = Date.now();
    const admission: Admission =
      every > 0 && this.counters.requests % every === 0
        ? { waitMs: 1000, limit: "requests" }
        : this.protection.admit(appId, now);
    if (admission.waitMs > 0) {
      this.counters.throttled++;
      const retryAfter = { "Retry-After": String(Math.ceil(admission.waitMs / 1000)) };
      if (admission.limit === "execution") {
        this.counters.executionLimitRejected++;
        return error(
          429,
          "0x80072321",
          "Combined execution time of incoming requests exceeded limit of 1,200,000 milliseconds over time window of 300 seconds. Decrease number of concurrent requests or reduce the duration of requests and try again later.",
          retryAfter,
        );
      }
      this.counters.requestLimitRejected++;
      return error(
        429,
        "0x80072322",
        "Number of requests exceeded the limit of 6000 over time window of 300 seconds.",
        retryAfter,
      );
    }
    const inFlight = this.protection.enter(appId);
    if (inFlight === undefined) {
      this.counters.throttled++;
      this.counters.concurrencyRejected++;
      return error(429, "0x80072326", "Number of concurrent requests exceeded the limit of 52.", {
        "Retry-After": "1",
      });
    }
    this.counters.peakConcurrent = Math.max(this.counters.peakConcurrent, inFlight);
    let costMs = 0;
    const run = (op: Operation): Response => {
      const r = this.store.handle({ ...op, caller });
      this.counters.operations += r.records ?? 1;
      costMs += r.records ? r.records * this.bulkRecordCostMs : this.operationCostMs;
      if (r.records) this.counters.bulkRequests++;
      return r;
    };
    try {
      if (this.options.latencyMs) await new Promise((r) => setTimeout(r, this.options.latencyMs));
      if (parsed) this.counters.batches++;
      const answer = parsed
        ? this.batch(parsed, header(req.headers as Record<string, string>, "prefer") ?? "", run)
        : run({
            method: req.method ?? "GET",
            url: req.url ?? "/",
            headers: req.headers as Record<string, string>,
            body,
          });
      // Its work is done (a client that gave up meanwhile does not undo it); the answer waits.
      if (this.options.executionTakesTime && costMs > 0)
        await new Promise((r) => setTimeout(r, costMs));
      return answer;
    } finally {
      this.protection.leave(appId);
      this.protection.charge(appId, Date.now(), costMs);
      this.counters.executionMs += costMs;
    }
  }

  /** Remembers a `$batch` or bulk message with the operations it carried and its answer. */
  private logWrite(req: IncomingMessage, body: string, answer: Response): void {
    if (req.method !== "POST") return;
    const path = new URL(req.url ?? "/", this.ctx.origin).pathname;
    let write: Omit<DataverseWriteRequest, "status" | "code"> | undefined;
    if (path === `${WEB_API_PATH}/$batch`) {
      const parsed = parseBatch(req.headers["content-type"] ?? "", body);
      const operations =
        "status" in parsed ? 0 : parsed.reduce((n, p) => n + (Array.isArray(p) ? p.length : 1), 0);
      write = { kind: "batch", operations };
    } else if (BULK_MESSAGES.some((m) => path.endsWith(`/Microsoft.Dynamics.CRM.${m}`))) {
      let operations = 0;
      try {
        const targets = (JSON.parse(body) as { Targets?: unknown }).Targets;
        operations = Array.isArray(targets) ? targets.length : 0;
      } catch {
        // A body that is not JSON carried no operation the log could count.
      }
      write = { kind: "bulk", operations };
    }
    if (!write) return;
    let code: string | undefined;
    if (answer.status >= 400 && answer.body)
      try {
        code = (JSON.parse(answer.body) as { error?: { code?: string } }).error?.code;
      } catch {
        // An error without Dataverse's JSON body has no code to keep.
      }
    this.writes.push({ ...write, status: answer.status, ...(code ? { code } : {}) });
    if (this.writes.length > WRITE_LOG_SIZE)
      this.writes.splice(0, this.writes.length - WRITE_LOG_SIZE);
  }

  /**
   * Who calls, or the 401/403 Dataverse answers. The deployer (the environment's administrator,
   * signed in through the Azure CLI) may do anything. The app is let in through its application
   * user: none, or a disabled one, is 403 "not a member of the organization"; one without a role
   * that grants the CoE tables is 403 "missing privilege".
   */
  private authenticate(
    req: IncomingMessage,
  ): { appId: string; caller: "administrator" | "application" } | Response {
    const challenge = {
      "WWW-Authenticate": `Bearer authorization_uri=${this.ctx.origin}/${this.ctx.tenantId}/oauth2/authorize, resource_id=${this.ctx.origin}/`,
    };
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "");
    const verified = m ? this.ctx.signer.verify(m[1]) : { reason: "No bearer token." };
    if ("reason" in verified || !sameAudience(verified.claims.aud, this.ctx.origin)) {
      this.counters.unauthorized++;
      return { status: 401, headers: challenge, body: "" };
    }
    const { claims } = verified;
    const appId = claims.appid.toLowerCase();
    if (appId === AZURE_CLI_CLIENT_ID && claims.oid === this.administratorObjectId)
      return { appId, caller: "administrator" };
    const user =
      appId === this.ctx.clientId.toLowerCase() ? this.store.applicationUser(appId) : undefined;
    if (!user || user.isdisabled === true) {
      this.counters.forbidden++;
      return error(403, "0x80072560", "The user is not a member of the organization.");
    }
    if (!this.store.canWriteCoeTables(String(user.systemuserid))) {
      this.counters.forbidden++;
      return error(
        403,
        "0x80040220",
        `Principal user (Id=${String(user.systemuserid)}, type=8, roleCount=${this.store.rolesOf(String(user.systemuserid)).length}) is missing prvWriteadmin_AuditLog privilege (Id=${randomUUID()}) on OTC=10001 for entity 'admin_auditlog'.`,
      );
    }
    return { appId, caller: "application" };
  }

  /**
   * Puts the app's application user in a state, as an admin would in the admin center: present
   * (enabled, with the CoE admin role), without a role, or missing altogether.
   */
  setApplicationUser(state: ApplicationUserState): void {
    const appId = this.ctx.clientId.toLowerCase();
    let user = this.store.applicationUser(appId);
    if (state === "missing") {
      if (user)
        this.store.seed("systemusers", String(user.systemuserid), { ...user, isdisabled: true });
      if (user) this.removeUser(String(user.systemuserid));
      return;
    }
    if (!user) {
      this.store.seed("systemusers", randomUUID(), {
        applicationid: appId,
        fullname: `# ${appId}`,
        isdisabled: false,
        _businessunitid_value: this.store.rootBusinessUnitId,
      });
      user = this.store.applicationUser(appId)!;
    }
    const userId = String(user.systemuserid);
    if (user.isdisabled) this.store.seed("systemusers", userId, { ...user, isdisabled: false });
    for (const role of this.store.rolesOf(userId))
      this.store.link("systemuserroles_association", userId, this.store.roleId(role)!, false);
    if (state === "present")
      this.store.link(
        "systemuserroles_association",
        userId,
        this.store.roleId(COE_ADMIN_ROLE)!,
        true,
      );
  }

  private removeUser(userId: string): void {
    for (const role of this.store.rolesOf(userId))
      this.store.link("systemuserroles_association", userId, this.store.roleId(role)!, false);
    this.store.handle({
      method: "DELETE",
      url: `${WEB_API_PATH}/systemusers(${userId})`,
      headers: {},
      body: "",
    });
  }

  /**
   * A token for the deployer: the environment's administrator as the Azure CLI signs them in
   * (appid of the Azure CLI, the admin's object id), for the scope `{url}/.default`.
   */
  administratorToken(): string {
    const now = Math.floor(Date.now() / 1000);
    return this.ctx.signer.sign({
      aud: this.ctx.origin,
      iss: `${this.ctx.origin}/${this.ctx.tenantId}/`,
      tid: this.ctx.tenantId,
      appid: AZURE_CLI_CLIENT_ID,
      roles: [],
      iat: now,
      nbf: now,
      exp: now + 3600,
      ver: "1.0",
      oid: this.administratorObjectId,
      sub: this.administratorObjectId,
    });
  }

  /**
   * Runs a batch's parts in order. A failure stops the batch unless the client asked to continue
   * on error; then the batch itself answers 400 with the responses so far, the last the failure
   * (the docs' example: "the batch fails on the first request… The batch error represents the
   * error of the first failing request").
   */
  private batch(parts: BatchPart[], prefer: string, run: (op: Operation) => Response): Response {
    const continueOnError = /odata\.continue-on-error/i.test(prefer);
    const boundary = `batchresponse_${randomUUID()}`;
    const out: string[] = [];
    let stopped = false;
    for (const part of parts) {
      if (!Array.isArray(part)) {
        const r = run(part);
        out.push(httpPart(r));
        if (r.status >= 400 && !continueOnError) {
          stopped = true;
          break;
        }
        continue;
      }
      // A change set is one transaction: every operation or none.
      const results: { op: Operation; r: Response }[] = [];
      let failed: Response | undefined;
      this.store.transaction(() => {
        for (const op of part) {
          const r = run(op);
          if (r.status >= 400) {
            failed = r;
            return r;
          }
          results.push({ op, r });
        }
        return { status: 200, headers: {} };
      });
      if (failed) {
        out.push(httpPart(failed));
        if (!continueOnError) {
          stopped = true;
          break;
        }
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
      status: stopped ? 400 : 200,
      headers: { "OData-Version": "4.0", "Content-Type": `multipart/mixed; boundary=${boundary}` },
      body,
    };
  }
}

const REASONS: Record<number, string> = {
  200: "OK",
  201: "Created",
  204: "No Content",
  304: "Not Modified",
  400: "Bad Request",
  404: "Not Found",
  405: "Method Not Allowed",
  412: "Precondition Failed",
  429: "Too Many Requests",
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
