/** Every knob of the emulator, its default, and the validation of what a caller passes. */

export const POWER_APPS_CONTENT_TYPE = "Audit.General";
export const NOISE_CONTENT_TYPES = [
  "Audit.SharePoint",
  "Audit.Exchange",
  "Audit.AzureActiveDirectory",
  "DLP.All",
] as const;
export const CONTENT_TYPES = [POWER_APPS_CONTENT_TYPE, ...NOISE_CONTENT_TYPES] as const;

export interface TenantOptions {
  /** Days of activity before the clock's start time. Default 7. */
  days?: number;
  /** Days of activity after the clock's start time (what a running client sees arrive). Default 7. */
  futureDays?: number;
  /** Power Apps in the tenant. Default 25. */
  apps?: number;
  /** Environments the apps live in. Default 3. */
  environments?: number;
  /** Users who launch apps. Default 60. */
  users?: number;
  /** Mean launches per weekday (weekends see a third). Default 300. */
  launchesPerDay?: number;
  /** Apps deleted at some point of the timeline (they stop being launched). Default 3. */
  deletes?: number;
  /**
   * Apps abandoned, not deleted: nobody launches them after a seed-chosen time 4 to 6 days before
   * the clock's start (inside the API's 7 days, so a client syncing from the start sees them
   * launched, then idle), or 40-70% back into a history shorter than a week. Chosen among the
   * more popular half of the apps that are not deleted, never the most popular one, so they have
   * launches before; fewer when the tenant has too few such apps. Default 2.
   */
  abandonedApps?: number;
  /** Share of Power Apps records in the older RecordType 45 form (AppName/EnvironmentName). Default 0.25. */
  legacySchemaShare?: number;
  /** Share of launch records that carry neither app id form (unparsed). Default 0.01. */
  unparsedShare?: number;
  /** Noise records from other workloads/operations per blob, [min, max]. Default [0, 20]. */
  noisePerBlob?: [number, number];
  /** Domain of the users' UPNs. Default "contoso.onmicrosoft.com". */
  domain?: string;
}

export interface ContentOptions {
  /** Minutes between content blobs of one content type. Default 10. */
  blobIntervalMinutes?: number;
  /** Records from the tenant's timeline per blob before it is split. Default 500. */
  maxRecordsPerBlob?: number;
  /** Usual delay between an event and its availability, in minutes, [min, max]. Default [60, 90]. */
  availabilityMinutes?: [number, number];
  /** Share of records that become available much later, up to maxAvailabilityHours. Default 0.03. */
  lateAvailabilityShare?: number;
  /** Default 12. */
  maxAvailabilityHours?: number;
  /** Share of blobs that show up in listings only after their contentCreated. Default 0.03. */
  lateListingShare?: number;
  /** How late such a blob is listed, in minutes, [min, max]. Default [10, 240]. */
  lateListingMinutes?: [number, number];
  /** Share of records served again in a later blob. Default 0.02. */
  duplicateShare?: number;
  /** Share of Audit.General blobs padded with noise up to bigBlobBytes. Default 0 (opt in). */
  bigBlobShare?: number;
  /** Size range of big blobs in bytes. Default [10 MB, 40 MB]. */
  bigBlobBytes?: [number, number];
  /**
   * "full": once a subscription is started, the whole history is listable (as if it had run for
   * weeks). "sinceSubscription": only blobs created after the first start (the real first-start
   * behaviour, which can leave a client waiting up to 12 hours). Default "full".
   */
  history?: "full" | "sinceSubscription";
}

export interface FaultOptions {
  /** Probability that an API call answers 500 AF50000 or 503. Default 0. */
  serverErrorRate?: number;
  /** Probability that an API call's connection is reset before any answer. Default 0. */
  resetRate?: number;
  /** Probability that a 200 body is cut off midway (connection closed). Default 0. */
  truncateRate?: number;
  /** Probability that a 200 body trickles out slowly. Default 0. */
  slowBodyRate?: number;
  /** How long a slow body takes, ms. Default 1500. */
  slowBodyMs?: number;
  /** Probability per API call that a throttle storm starts (every caller throttled). Default 0. */
  throttleStormRate?: number;
  /** Length of a throttle storm, ms. Default 2000. */
  throttleStormMs?: number;
  /** Probability that a token request hits an outage (503 temporarily_unavailable or a reset). Default 0. */
  tokenOutageRate?: number;
  /**
   * Retry-After seconds on an outage's 503; 0 sends none. msal-node treats a 5xx from the token
   * endpoint as a throttle and refuses further token calls for Retry-After seconds (60 without
   * the header), so this decides how long an msal-based client is locked out. Default 0.
   */
  tokenOutageRetryAfterSeconds?: number;
  /**
   * Every access token issued so far is revoked just before the n-th API call (1-based, counted
   * like stats().requests) is authenticated, for each n listed: that call and every later one with
   * an old token answer 401, while new tokens work. The same as calling revokeTokens() at that
   * moment, but deterministic in request order. Default [] (never).
   */
  revokeTokensAtRequests?: number[];
}

/** Why a whole Audit.General blob cannot be read, permanently (see BadInputOptions.blobs). */
export const BAD_BLOB_REASONS = [
  "notJson",
  "notArray",
  "unknownError",
  "foreignContentUri",
  "expired",
] as const;
export type BadBlobReason = (typeof BAD_BLOB_REASONS)[number];

/** Records injected into readable Audit.General blobs (see BadInputOptions.records). */
export const BAD_RECORD_KINDS = [
  "missingId",
  "idNotString",
  "creationTimeNotString",
  "propertyCollectionNotArray",
  "creationTimeOutOfRange",
  "creationTimeNotADate",
  "unknownRecordType",
  "unknownOperation",
] as const;
export type BadRecordKind = (typeof BAD_RECORD_KINDS)[number];

/** What the last page of every Audit.General listing says in NextPageUri instead of nothing. */
export const FINAL_NEXT_PAGE_URI_KINDS = [
  "empty",
  "notAUrl",
  "sameListing",
  "foreignHost",
] as const;
export type FinalNextPageUriKind = (typeof FINAL_NEXT_PAGE_URI_KINDS)[number];

/**
 * The bad input corpus: content a correct client must survive, all of it opt in and placed by the
 * seed in Audit.General blobs created in [from, to). emu.badInput() says what landed where.
 */
export interface BadInputOptions {
  /** Where blob and record injections land (on contentCreated). Default: the 24 h before the clock's start. */
  from?: Date;
  to?: Date;
  /**
   * One distinct blob per entry, each unreadable on every attempt: "notJson" (200 with an HTML
   * body), "notArray" (200 with a JSON object), "unknownError" (unknownErrorStatus with
   * unknownErrorCode), "foreignContentUri" (listed with a contentUri on foreignHost; the real
   * path answers AF20052), "expired" (listed as usual, then 400 AF20052 "Content ID … invalid" on
   * every fetch, as content past its contentExpiration or purged between listing and download
   * answers). Their records are lost unless another blob holds them too. Default [].
   */
  blobs?: BadBlobReason[];
  /** One record per entry, injected first in a readable blob that holds launches. Default []. */
  records?: BadRecordKind[];
  /** Existing launches whose record is padded to hugeRecordBytes: still valid, still counted. Default 0. */
  hugeRecords?: number;
  /** Size of a huge record's JSON, bytes. Default 5 MB. */
  hugeRecordBytes?: number;
  /** Default 400. */
  unknownErrorStatus?: number;
  /** Default "AF99999". */
  unknownErrorCode?: string;
  /**
   * Host name of foreign URIs, on this emulator's port under the path prefix /foreign/: the
   * emulator records every request to them (emu.foreignRequests()). Default "localhost" (the
   * certificate covers it; it must resolve to 127.0.0.1 for requests to be recorded).
   */
  foreignHost?: string;
  /** NextPageUri on the last page of every Audit.General listing. Default null (absent, as the API does). */
  finalNextPageUri?: FinalNextPageUriKind | null;
}

export interface ResolvedBadInput {
  from: Date | null;
  to: Date | null;
  blobs: BadBlobReason[];
  records: BadRecordKind[];
  hugeRecords: number;
  hugeRecordBytes: number;
  unknownErrorStatus: number;
  unknownErrorCode: string;
  foreignHost: string;
  finalNextPageUri: FinalNextPageUriKind | null;
}

/**
 * The Microsoft Graph audit log query API (/security/auditLog/queries). Limits after
 * learn.microsoft.com/graph/throttling-limits#security-audit-log-query-service-limits (the
 * documented baselines; a tenant's real allocation may be higher).
 */
export interface GraphOptions {
  /**
   * Whether the cloud offers the API. false answers every call as GCC High and DoD do:
   * 400 "Resource not found for the segment 'auditLog'." Default true.
   */
  available?: boolean;
  /** Records per /records page. Default 100. */
  pageSize?: number;
  /** Records one query may return; more sets isRecordCountLimitExceeded. Default 1,000,000. */
  recordCountLimit?: number;
  /** Query submissions per rolling 24 hours of the simulated clock, per tenant. Default 200. */
  queriesPer24Hours?: number;
  /** Queries queued or running at once. Default 50. */
  maxConcurrentQueries?: number;
  /** Graph requests per real minute before a 429 with Retry-After. Default 10,000. */
  requestsPerMinute?: number;
  /**
   * Mean simulated ms from submission to "succeeded" (the first third of it "notStarted"). Real
   * queries take minutes (learn.microsoft.com/graph/api/security-auditcoreroot-post-auditlogqueries:
   * the query runs in the background and is polled). Default 5 min.
   */
  queryRunMs?: number;
  /**
   * How much run times vary around queryRunMs: each query takes queryRunMs × (1 ± spread),
   * chosen from the seed and the query's filters, so the same query always takes the same time
   * and two runs of a backfill are comparable. 0 to 1. Default 0.5.
   */
  queryRunSpread?: number;
  /**
   * Each GET of a query moves it on by this much as well, so a query also finishes on a frozen
   * simulated clock after a few polls. Default 60,000.
   */
  pollProgressMs?: number;
  /** The first N queries submitted end "failed". Default 0. */
  failQueries?: number;
  /** How far back records are kept (Audit Standard: 180 days). Default 180. */
  retentionDays?: number;
  /**
   * Hand out @odata.nextLink on another host name of this server (`https://localhost:PORT`), as
   * a hostile proxy might: a correct client refuses to send its token there. Default false.
   */
  foreignNextLink?: boolean;
  /**
   * Graph tokens carry User.Read.All, so /users and their $batch answer (the admin opted in to
   * user details). Default true; false: each user request answers 403 Authorization_RequestDenied.
   */
  userReadAll?: boolean;
}

export interface EmulatorOptions {
  /** Seed of every random choice (tenant, blobs, faults). Default "coe-audit-sync". */
  seed?: string | number;
  /** Listening port on 127.0.0.1. Default 0 (a free port). */
  port?: number;
  /** Simulated clock start. Giving it makes the clock simulated. Default: real time. */
  startTime?: Date;
  /** "simulated" freezes time until clock.set/advance. Default "simulated" if startTime, else "real". */
  clock?: "real" | "simulated";
  tenant?: TenantOptions;
  content?: ContentOptions;
  faults?: FaultOptions;
  /** The bad input corpus (malformed blobs, records and listings). Default: none. */
  badInput?: BadInputOptions;
  /** The Microsoft Graph audit log query API served beside the Management Activity API. */
  graph?: GraphOptions;
  /** Requests per minute per PublisherIdentifier. Default 2000. */
  quotaPerMinute?: number;
  /** Requests per minute shared by every call without PublisherIdentifier. Default quotaPerMinute / 4. */
  sharedQuotaPerMinute?: number;
  /** How a throttled call is answered. Default "mixed" (403 AF429 or 429, seeded). */
  throttleStatus?: 403 | 429 | "mixed";
  /** Send Retry-After on throttled answers. Default true. */
  retryAfter?: boolean;
  /** Access token lifetime (real seconds). Default 3599. */
  tokenLifetimeSeconds?: number;
  /** Items per content listing page. Default 200. */
  pageSize?: number;
  /** Extra response latency per API call, ms, [min, max]. Default [0, 0]. */
  latencyMs?: [number, number];
  /**
   * Keep each blob's body once generated and serve it from memory after (a bench's knob: a real
   * API serves stored blobs, so a client's download should not wait on generating them). Default false.
   */
  cacheBodies?: boolean;
  /** Tokens carry the ActivityFeed.Read role (admin consent granted). Default true; false gives AF10001. */
  consentGranted?: boolean;
  /** Override the generated tenant credentials. */
  tenantId?: string;
  clientId?: string;
  clientSecret?: string;
  /**
   * The app's federated identity credentials (issuer, subject, audience). Default: the one
   * `pulumi up` creates, trusting the container app's managed identity (issuer
   * `{authority}/{tenant}/v2.0`, subject its principal id, audience api://AzureADTokenExchange);
   * `[]` for an app without any. Each field left out takes that default.
   */
  federatedCredentials?: { issuer?: string; subject?: string; audience?: string }[];
  /**
   * Client assertion requests answered AADSTS70021 first, as while a federated identity
   * credential created moments ago propagates. Default 0.
   */
  federatedPropagationRequests?: number;
}

export interface ResolvedOptions {
  seed: string;
  port: number;
  clockMode: "real" | "simulated";
  startTime?: Date;
  tenant: Required<TenantOptions>;
  content: Required<ContentOptions>;
  faults: Required<FaultOptions>;
  badInput: ResolvedBadInput;
  graph: Required<GraphOptions>;
  quotaPerMinute: number;
  sharedQuotaPerMinute: number;
  throttleStatus: 403 | 429 | "mixed";
  retryAfter: boolean;
  tokenLifetimeSeconds: number;
  pageSize: number;
  latencyMs: [number, number];
  cacheBodies: boolean;
  consentGranted: boolean;
  tenantId?: string;
  clientId?: string;
  clientSecret?: string;
  federatedCredentials?: { issuer?: string; subject?: string; audience?: string }[];
  federatedPropagationRequests: number;
}

const MB = 1024 * 1024;

export const DEFAULT_TENANT: Required<TenantOptions> = {
  days: 7,
  futureDays: 7,
  apps: 25,
  environments: 3,
  users: 60,
  launchesPerDay: 300,
  deletes: 3,
  abandonedApps: 2,
  legacySchemaShare: 0.25,
  unparsedShare: 0.01,
  noisePerBlob: [0, 20],
  domain: "contoso.onmicrosoft.com",
};

export const DEFAULT_CONTENT: Required<ContentOptions> = {
  blobIntervalMinutes: 10,
  maxRecordsPerBlob: 500,
  availabilityMinutes: [60, 90],
  lateAvailabilityShare: 0.03,
  maxAvailabilityHours: 12,
  lateListingShare: 0.03,
  lateListingMinutes: [10, 240],
  duplicateShare: 0.02,
  bigBlobShare: 0,
  bigBlobBytes: [10 * MB, 40 * MB],
  history: "full",
};

export const DEFAULT_FAULTS: Required<FaultOptions> = {
  serverErrorRate: 0,
  resetRate: 0,
  truncateRate: 0,
  slowBodyRate: 0,
  slowBodyMs: 1500,
  throttleStormRate: 0,
  throttleStormMs: 2000,
  tokenOutageRate: 0,
  tokenOutageRetryAfterSeconds: 0,
  revokeTokensAtRequests: [],
};

export const DEFAULT_GRAPH: Required<GraphOptions> = {
  available: true,
  pageSize: 100,
  recordCountLimit: 1_000_000,
  queriesPer24Hours: 200,
  maxConcurrentQueries: 50,
  requestsPerMinute: 10_000,
  queryRunMs: 5 * 60_000,
  queryRunSpread: 0.5,
  pollProgressMs: 60_000,
  failQueries: 0,
  retentionDays: 180,
  foreignNextLink: false,
  userReadAll: true,
};

export const DEFAULT_BAD_INPUT: ResolvedBadInput = {
  from: null,
  to: null,
  blobs: [],
  records: [],
  hugeRecords: 0,
  hugeRecordBytes: 5 * MB,
  unknownErrorStatus: 400,
  unknownErrorCode: "AF99999",
  foreignHost: "localhost",
  finalNextPageUri: null,
};

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function resolveOptions(options: EmulatorOptions = {}): ResolvedOptions {
  const tenant = { ...DEFAULT_TENANT, ...definedOnly(options.tenant) };
  const content = { ...DEFAULT_CONTENT, ...definedOnly(options.content) };
  const faults = { ...DEFAULT_FAULTS, ...definedOnly(options.faults) };
  const badInput = { ...DEFAULT_BAD_INPUT, ...definedOnly(options.badInput) };
  const graph = { ...DEFAULT_GRAPH, ...definedOnly(options.graph) };
  const quotaPerMinute = options.quotaPerMinute ?? 2000;
  const resolved: ResolvedOptions = {
    seed: String(options.seed ?? "coe-audit-sync"),
    port: options.port ?? 0,
    clockMode: options.clock ?? (options.startTime ? "simulated" : "real"),
    startTime: options.startTime,
    tenant,
    content,
    faults,
    badInput,
    graph,
    quotaPerMinute,
    sharedQuotaPerMinute:
      options.sharedQuotaPerMinute ?? Math.max(1, Math.floor(quotaPerMinute / 4)),
    throttleStatus: options.throttleStatus ?? "mixed",
    retryAfter: options.retryAfter ?? true,
    tokenLifetimeSeconds: options.tokenLifetimeSeconds ?? 3599,
    pageSize: options.pageSize ?? 200,
    latencyMs: options.latencyMs ?? [0, 0],
    cacheBodies: options.cacheBodies ?? false,
    consentGranted: options.consentGranted ?? true,
    tenantId: options.tenantId,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    federatedCredentials: options.federatedCredentials,
    federatedPropagationRequests: options.federatedPropagationRequests ?? 0,
  };
  validate(resolved);
  return resolved;
}

function definedOnly<T extends object>(value: T | undefined): Partial<T> {
  return Object.fromEntries(
    Object.entries(value ?? {}).filter(([, v]) => v !== undefined),
  ) as Partial<T>;
}

function validateBadInput(b: ResolvedBadInput, problems: string[]): void {
  for (const key of ["from", "to"] as const) {
    const v = b[key];
    if (v !== null && !(v instanceof Date && Number.isFinite(v.getTime())))
      problems.push(`badInput.${key} must be a valid Date`);
  }
  if ((b.from === null) !== (b.to === null))
    problems.push("badInput.from and badInput.to go together (both or neither)");
  else if (b.from && b.to && !(b.from.getTime() < b.to.getTime()))
    problems.push("badInput.from must be before badInput.to");
  const list = (name: string, v: unknown, allowed: readonly string[]) => {
    if (!Array.isArray(v) || !v.every((x) => allowed.includes(x as string)))
      problems.push(
        `badInput.${name} must be a list of ${allowed.map((a) => `"${a}"`).join(", ")}, got ${JSON.stringify(v)}`,
      );
  };
  list("blobs", b.blobs, BAD_BLOB_REASONS);
  list("records", b.records, BAD_RECORD_KINDS);
  if (!Number.isInteger(b.hugeRecords) || b.hugeRecords < 0)
    problems.push(`badInput.hugeRecords must be an integer >= 0, got ${b.hugeRecords}`);
  if (!Number.isInteger(b.hugeRecordBytes) || b.hugeRecordBytes < 4096)
    problems.push(`badInput.hugeRecordBytes must be an integer >= 4096, got ${b.hugeRecordBytes}`);
  if (
    !Number.isInteger(b.unknownErrorStatus) ||
    b.unknownErrorStatus < 400 ||
    b.unknownErrorStatus > 499
  )
    problems.push(`badInput.unknownErrorStatus must be a 4xx status, got ${b.unknownErrorStatus}`);
  if (typeof b.unknownErrorCode !== "string" || !/^[A-Za-z0-9]+$/.test(b.unknownErrorCode))
    problems.push(
      `badInput.unknownErrorCode must be letters and digits, got ${String(b.unknownErrorCode)}`,
    );
  if (
    typeof b.foreignHost !== "string" ||
    !/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(b.foreignHost)
  )
    problems.push(`badInput.foreignHost must be a host name, got ${String(b.foreignHost)}`);
  else if (b.foreignHost === "127.0.0.1")
    problems.push("badInput.foreignHost must differ from 127.0.0.1, the emulator's own host");
  if (b.finalNextPageUri !== null && !FINAL_NEXT_PAGE_URI_KINDS.includes(b.finalNextPageUri))
    problems.push(
      `badInput.finalNextPageUri must be null or one of ${FINAL_NEXT_PAGE_URI_KINDS.map((a) => `"${a}"`).join(", ")}, got ${JSON.stringify(b.finalNextPageUri)}`,
    );
}

function validate(o: ResolvedOptions): void {
  const problems: string[] = [];
  const int = (name: string, v: number, min: number) => {
    if (!Number.isInteger(v) || v < min)
      problems.push(`${name} must be an integer >= ${min}, got ${v}`);
  };
  const num = (name: string, v: number, min: number) => {
    if (!Number.isFinite(v) || v < min)
      problems.push(`${name} must be a number >= ${min}, got ${v}`);
  };
  const share = (name: string, v: number) => {
    if (!(v >= 0 && v <= 1)) problems.push(`${name} must be between 0 and 1, got ${v}`);
  };
  const range = (name: string, v: [number, number], min: number) => {
    if (!Array.isArray(v) || v.length !== 2 || !(v[0] >= min) || !(v[1] >= v[0]))
      problems.push(
        `${name} must be [min, max] with ${min} <= min <= max, got ${JSON.stringify(v)}`,
      );
  };
  int("port", o.port, 0);
  if (o.port > 65535) problems.push(`port must be <= 65535, got ${o.port}`);
  if (o.startTime && !Number.isFinite(o.startTime.getTime()))
    problems.push("startTime is not a valid Date");
  if (o.clockMode !== "real" && o.clockMode !== "simulated")
    problems.push(`clock must be "real" or "simulated", got ${String(o.clockMode)}`);
  num("tenant.days", o.tenant.days, 0);
  num("tenant.futureDays", o.tenant.futureDays, 0);
  int("tenant.apps", o.tenant.apps, 1);
  int("tenant.environments", o.tenant.environments, 1);
  int("tenant.users", o.tenant.users, 1);
  num("tenant.launchesPerDay", o.tenant.launchesPerDay, 0);
  int("tenant.deletes", o.tenant.deletes, 0);
  if (o.tenant.deletes > o.tenant.apps) problems.push("tenant.deletes must not exceed tenant.apps");
  int("tenant.abandonedApps", o.tenant.abandonedApps, 0);
  share("tenant.legacySchemaShare", o.tenant.legacySchemaShare);
  share("tenant.unparsedShare", o.tenant.unparsedShare);
  range("tenant.noisePerBlob", o.tenant.noisePerBlob, 0);
  num("content.blobIntervalMinutes", o.content.blobIntervalMinutes, 0.1);
  int("content.maxRecordsPerBlob", o.content.maxRecordsPerBlob, 1);
  range("content.availabilityMinutes", o.content.availabilityMinutes, 0);
  share("content.lateAvailabilityShare", o.content.lateAvailabilityShare);
  num(
    "content.maxAvailabilityHours",
    o.content.maxAvailabilityHours,
    o.content.availabilityMinutes[1] / 60,
  );
  share("content.lateListingShare", o.content.lateListingShare);
  range("content.lateListingMinutes", o.content.lateListingMinutes, 0);
  share("content.duplicateShare", o.content.duplicateShare);
  share("content.bigBlobShare", o.content.bigBlobShare);
  range("content.bigBlobBytes", o.content.bigBlobBytes, 1);
  if (o.content.history !== "full" && o.content.history !== "sinceSubscription")
    problems.push(
      `content.history must be "full" or "sinceSubscription", got ${String(o.content.history)}`,
    );
  for (const key of [
    "serverErrorRate",
    "resetRate",
    "truncateRate",
    "slowBodyRate",
    "throttleStormRate",
    "tokenOutageRate",
  ] as const)
    share(`faults.${key}`, o.faults[key]);
  num("faults.slowBodyMs", o.faults.slowBodyMs, 0);
  num("faults.throttleStormMs", o.faults.throttleStormMs, 0);
  int("faults.tokenOutageRetryAfterSeconds", o.faults.tokenOutageRetryAfterSeconds, 0);
  if (
    !Array.isArray(o.faults.revokeTokensAtRequests) ||
    !o.faults.revokeTokensAtRequests.every((n) => Number.isInteger(n) && n >= 1)
  )
    problems.push(
      `faults.revokeTokensAtRequests must be a list of integers >= 1, got ${JSON.stringify(o.faults.revokeTokensAtRequests)}`,
    );
  validateBadInput(o.badInput, problems);
  for (const key of [
    "pageSize",
    "recordCountLimit",
    "queriesPer24Hours",
    "maxConcurrentQueries",
    "requestsPerMinute",
    "retentionDays",
  ] as const)
    int(`graph.${key}`, o.graph[key], 1);
  int("graph.failQueries", o.graph.failQueries, 0);
  num("graph.queryRunMs", o.graph.queryRunMs, 0);
  share("graph.queryRunSpread", o.graph.queryRunSpread);
  num("graph.pollProgressMs", o.graph.pollProgressMs, 0);
  if (typeof o.graph.userReadAll !== "boolean")
    problems.push(`graph.userReadAll must be true or false, got ${String(o.graph.userReadAll)}`);
  if (typeof o.graph.foreignNextLink !== "boolean")
    problems.push(
      `graph.foreignNextLink must be true or false, got ${String(o.graph.foreignNextLink)}`,
    );
  if (typeof o.graph.available !== "boolean")
    problems.push(`graph.available must be true or false, got ${String(o.graph.available)}`);
  int("quotaPerMinute", o.quotaPerMinute, 1);
  int("sharedQuotaPerMinute", o.sharedQuotaPerMinute, 1);
  if (![403, 429, "mixed"].includes(o.throttleStatus))
    problems.push(`throttleStatus must be 403, 429 or "mixed", got ${String(o.throttleStatus)}`);
  int("tokenLifetimeSeconds", o.tokenLifetimeSeconds, 1);
  int("federatedPropagationRequests", o.federatedPropagationRequests, 0);
  if ((o.federatedCredentials?.length ?? 0) > 20)
    problems.push("federatedCredentials: an app holds at most 20 federated identity credentials");
  int("pageSize", o.pageSize, 1);
  range("latencyMs", o.latencyMs, 0);
  for (const key of ["tenantId", "clientId"] as const) {
    const v = o[key];
    if (v !== undefined && !GUID.test(v)) problems.push(`${key} must be a GUID, got ${v}`);
  }
  if (o.clientSecret !== undefined && o.clientSecret.length < 8)
    problems.push("clientSecret must be at least 8 characters");
  if (problems.length > 0)
    throw new Error(
      `Invalid emulator options:\n- ${problems.join("\n- ")}\nSee emulator/README.md for every option and its default.`,
    );
}
