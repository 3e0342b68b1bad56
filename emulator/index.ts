/**
 * A local stand-in for Entra (client credentials) and the Office 365 Management Activity API,
 * serving a deterministic synthetic tenant whose ground truth is known. See emulator/README.md.
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ActivityApi, type ListedContent } from "./activity-api";
import {
  startDataverse,
  type DataverseEmulatorOptions,
  type RunningDataverse,
} from "./dataverse-server";
import { planBadInput, type BadInputReport } from "./bad-input";
import { createClock, type EmulatorClock } from "./clock";
import { Faults, type FaultCounters } from "./faults";
import {
  GRAPH_PREFIX,
  GraphAuditLog,
  type GraphCounters,
  type GraphSubmission,
} from "./graph-audit";
import { GraphUsers, type GraphUsersCounters } from "./graph-users";
import { resolveOptions, type EmulatorOptions } from "./options";
import { Quota } from "./quota";
import {
  createEmulatorServer,
  listen,
  revokeTokens,
  serveRequests,
  type ForeignRequest,
  type ServerParts,
} from "./server";
import { generateTenant, type UserProfile } from "./tenant/generator";
import {
  completeAt,
  groundTruth,
  inactiveApps,
  unparsedCount,
  type InactiveApp,
  type InactiveAppsQuery,
  type TruthOptions,
  type TruthWindow,
  type UsageReport,
} from "./tenant/ground-truth";
import { makeCertificates } from "./tls";
import { TokenSigner } from "./tokens";
import { startManagedIdentityEndpoint, type ManagedIdentity } from "./managed-identity";
import { Random } from "./random";
import type { FederatedCredential } from "./token-endpoint";

export type {
  EmulatorOptions,
  GraphOptions,
  TenantOptions,
  ContentOptions,
  FaultOptions,
  BadInputOptions,
  BadBlobReason,
  BadRecordKind,
  FinalNextPageUriKind,
} from "./options";
export type { BadInputReport, BadBlobInfo, InjectedRecordInfo, HugeRecordInfo } from "./bad-input";
export type { ForeignRequest } from "./server";
export type { ListedContent } from "./activity-api";
export type { FederatedCredential } from "./token-endpoint";
export { JWT_BEARER } from "./token-endpoint";
export type { EmulatorClock } from "./clock";
export { SimulatedSleep } from "./clock";
export type { GraphCounters, GraphSubmission } from "./graph-audit";
export type { GraphUsersCounters } from "./graph-users";
export type { DataverseEmulatorOptions, RunningDataverse, CoeAppTruth } from "./dataverse-server";
export type { DataverseRow, DataverseWriteRequest, ApplicationUserState } from "./dataverse";
export type {
  AppUsage,
  InactiveApp,
  InactiveAppsQuery,
  UsageReport,
  TruthWindow,
  TruthOptions,
} from "./tenant/ground-truth";
export {
  BAD_BLOB_REASONS,
  BAD_RECORD_KINDS,
  CONTENT_TYPES,
  FINAL_NEXT_PAGE_URI_KINDS,
  NOISE_CONTENT_TYPES,
  POWER_APPS_CONTENT_TYPE,
} from "./options";

/** groundTruth options, plus whether to count the records only unreadable blobs hold. */
export interface EmulatorTruthOptions extends TruthOptions {
  /**
   * Count the records of the bad input corpus's unreadable blobs as well (what the tenant did,
   * not what a correct client can know). Default false.
   */
  includeLost?: boolean;
}

export interface EmulatorStats {
  /** Calls to the activity API (all outcomes). */
  requests: number;
  requestsByPublisher: Record<string, number>;
  unauthorized: number;
  throttled: number;
  listings: number;
  blobsServed: number;
  recordsServed: number;
  /** Answers for unreadable blobs of the bad input corpus (not counted in blobsServed). */
  badBlobAnswers: number;
  tokenRequests: number;
  tokensIssued: number;
  tokenErrors: number;
  /** Token requests that carried a client_secret, right or wrong (none with a federated client). */
  clientSecretsSeen: number;
  /** Token requests that carried a client assertion. */
  clientAssertionsSeen: number;
  /** Tokens the managed identity endpoint issued, and its refusals. */
  managedIdentityTokens: number;
  managedIdentityErrors: number;
  faults: FaultCounters;
  /** The Microsoft Graph audit log query API's counters. */
  graph: GraphCounters;
  /** Microsoft Graph's users (/users/{id} and $batch). */
  graphUsers: GraphUsersCounters;
}

export interface RunningEmulator {
  /** https://127.0.0.1:PORT — also the authority host and the audience. */
  url: string;
  authority: string;
  audience: string;
  /**
   * The stand-in for https://graph.microsoft.com: token audience (scope `${graphUrl}/.default`)
   * and root (`${graphUrl}/v1.0/security/auditLog/queries`).
   */
  graphUrl: string;
  caCertPem: string;
  /** The CA certificate as a file, for NODE_EXTRA_CA_CERTS. Removed by stop(). */
  caCertPath: string;
  tenant: {
    tenantId: string;
    clientId: string;
    clientSecret: string;
    clientSecretId: string;
    domain: string;
  };
  clock: EmulatorClock;
  /**
   * What a correct client reports for the window (usage report semantics). Records held only by
   * unreadable blobs of the bad input corpus are left out (includeLost counts them).
   */
  groundTruth(window: TruthWindow, options?: EmulatorTruthOptions): UsageReport;
  /**
   * When the window's last countable record is first listed (null if it has none). A client that
   * has synced up to a clock past this time can match groundTruth(window) exactly.
   */
  windowCompleteAt(window: TruthWindow): Date | null;
  /**
   * The inactiveApps a client reports when it has synced every countable record created from
   * `seenFrom` (the usage report's all-time "not launched for staleDays days" list).
   */
  inactiveApps(query: InactiveAppsQuery): InactiveApp[];
  /** Every Graph audit log query accepted so far: its filters and when it was submitted. */
  graphSubmissions(): GraphSubmission[];
  /** The users Graph serves at /users/{id} (deleted ones answer 404), with their profiles. */
  graphUsers(): { id: string; deleted: boolean; profile: UserProfile }[];
  /**
   * Countable launch records in the window with neither app id form. includeMalformed adds the
   * injected records a client must count as unparsed whose CreationTime is readable and in the
   * window (see badInput().records: expected "unparsed", creationTime not null).
   */
  unparsedRecords(
    window: TruthWindow,
    options?: { asOf?: Date; includeMalformed?: boolean },
  ): number;
  /** The bad input corpus as placed: every unreadable blob, injected and huge record, with its facts. */
  badInput(): BadInputReport;
  /** Requests received through foreign URIs (proof of what a client sent to "another host"). */
  foreignRequests(): ForeignRequest[];
  /**
   * What one complete listing of [from, to) of a content type holds at this moment: its blobs and
   * the pages they take (a client's least number of requests for the interval).
   */
  listable(contentType: string, from: Date, to: Date): { blobs: number; pages: number };
  /**
   * The items that complete listing returns at this moment, read in-process: what a client was
   * offered, for checks that no injected fault or throttle may disturb.
   */
  listed(contentType: string, from: Date, to: Date): ListedContent[];
  /** Revokes every access token issued so far: they answer 401 from now on, new ones work. */
  revokeTokens(): void;
  /**
   * Grants (or withdraws) Graph's User.Read.All, as an admin consent that has taken effect: Graph
   * tokens issued from now on carry it (or not); tokens issued before keep the roles they were
   * issued with, as Entra's do, until the client gets a new one.
   */
  setUserReadAll(granted: boolean): void;
  /** The next `requests` Graph user requests (/users, $batch) answer 503, as in an outage; 0 ends it. */
  setGraphUsersOutage(requests: number): void;
  /** Every access token issued so far, in order (what a leak check looks for). */
  issuedTokens(): string[];
  /** The Dataverse environment with the CoE tables, when started with the dataverse option. */
  dataverse?: RunningDataverse;
  /**
   * What Azure Container Apps give a container with a user-assigned identity: IDENTITY_ENDPOINT
   * (`endpoint`, plain HTTP on 127.0.0.1) and IDENTITY_HEADER (`header`), and the identity's ids.
   * `issuer` is the issuer of its tokens, what a federated identity credential names.
   */
  managedIdentity: ManagedIdentity & { endpoint: string; header: string; issuer: string };
  /** The app's federated identity credentials now. */
  federatedCredentials(): FederatedCredential[];
  /**
   * Replaces the app's federated identity credentials; the next `propagationRequests` client
   * assertions meet AADSTS70021, as while new ones propagate.
   */
  setFederatedCredentials(
    credentials: FederatedCredential[],
    options?: { propagationRequests?: number },
  ): void;
  stats(): EmulatorStats;
  stop(): Promise<void>;
}

export async function startEmulator(
  options: EmulatorOptions & { dataverse?: DataverseEmulatorOptions } = {},
): Promise<RunningEmulator> {
  const { dataverse: dataverseOptions, ...emulatorOptions } = options;
  const resolved = resolveOptions(emulatorOptions);
  const clock = createClock(resolved.clockMode, resolved.startTime);
  const tenant = generateTenant({
    seed: resolved.seed,
    anchorMs: clock.now().getTime(),
    tenant: resolved.tenant,
    content: resolved.content,
    tenantId: resolved.tenantId,
    clientId: resolved.clientId,
    clientSecret: resolved.clientSecret,
  });
  const badPlan = planBadInput(resolved.seed, tenant, clock.now().getTime(), resolved.badInput);
  const certs = await makeCertificates();
  // The origin (with its port) is in every URL served, so the parts are built once it is known.
  const server = createEmulatorServer(certs);
  const url = await listen(server, resolved.port);
  const signer = new TokenSigner();
  const tokenCounters = {
    tokenRequests: 0,
    tokensIssued: 0,
    tokenErrors: 0,
    clientSecretsSeen: 0,
    clientAssertionsSeen: 0,
  };
  // The container app's user-assigned identity, deterministic by seed like the tenant.
  const ids = new Random(resolved.seed, "managed-identity");
  const identity: ManagedIdentity = {
    clientId: ids.guid(),
    principalId: ids.guid(),
    resourceId: `/subscriptions/${ids.guid()}/resourceGroups/coe-audit-sync/providers/Microsoft.ManagedIdentity/userAssignedIdentities/audit-sync`,
  };
  const issuer = `${url}/${tenant.tenantId}/v2.0`;
  const deployed: FederatedCredential = {
    issuer,
    subject: identity.principalId,
    audience: "api://AzureADTokenExchange",
  };
  const identityCounters = { managedIdentityTokens: 0, managedIdentityErrors: 0 };
  const identityHeader = randomUUID();
  const identityEndpoint = await startManagedIdentityEndpoint({
    identity,
    header: identityHeader,
    issuer,
    tenantId: tenant.tenantId,
    signer,
    counters: identityCounters,
  });
  const api = new ActivityApi(url, tenant, clock, resolved, badPlan);
  const graphUrl = `${url}${GRAPH_PREFIX}`;
  const graph = new GraphAuditLog(url, tenant, clock, resolved, {
    signer,
    audience: graphUrl,
    tenantId: tenant.tenantId,
  });
  const graphUsers = new GraphUsers(url, tenant, {
    signer,
    audience: graphUrl,
    tenantId: tenant.tenantId,
  });
  const parts: ServerParts = {
    options: resolved,
    faults: new Faults(resolved.seed, resolved.faults, resolved.latencyMs),
    quota: new Quota(resolved.quotaPerMinute, resolved.sharedQuotaPerMinute),
    signer,
    counters: { requests: 0, unauthorized: 0, throttled: 0, requestsByPublisher: {} },
    api,
    graph,
    graphUsers,
    tokenContext: {
      origin: url,
      audience: url,
      graphAudience: graphUrl,
      otherAudiences: [],
      tenantId: tenant.tenantId,
      domain: tenant.domain,
      clientId: tenant.clientId,
      clientSecret: tenant.clientSecret,
      tokenLifetimeSeconds: resolved.tokenLifetimeSeconds,
      consentGranted: resolved.consentGranted,
      userReadAll: resolved.graph.userReadAll,
      signer,
      federation: {
        credentials: (resolved.federatedCredentials ?? [{}]).map((c) => ({ ...deployed, ...c })),
        pendingRequests: resolved.federatedPropagationRequests,
      },
      counters: tokenCounters,
    },
    foreignRequests: [],
    servesForeign: badPlan.usesForeignHost,
  };
  serveRequests(server, parts);
  const dataverse = dataverseOptions
    ? await startDataverse(certs, tenant, badPlan.countableEvents, signer, dataverseOptions)
    : undefined;
  if (dataverse) parts.tokenContext.otherAudiences.push(dataverse.url);

  const certDir = await mkdtemp(join(tmpdir(), "audit-emulator-"));
  const caCertPath = join(certDir, "ca.pem");
  await writeFile(caCertPath, certs.caCertPem);

  const countable = badPlan.countableEvents;
  const badReport = () => badPlan.report(api.foreignOrigin, (b) => api.contentUri(b));
  const malformedUnparsed = (window: TruthWindow, asOf?: Date) => {
    const [from, to, asOfMs] = [window.from.getTime(), window.to.getTime(), asOf?.getTime()];
    return badReport().records.filter((r) => {
      if (r.expected !== "unparsed" || r.creationTime === null) return false;
      const t = Date.parse(r.creationTime);
      return t >= from && t < to && (asOfMs === undefined || Date.parse(r.listedAt) <= asOfMs);
    }).length;
  };

  let stopped = false;
  return {
    url,
    authority: url,
    audience: url,
    graphUrl,
    caCertPem: certs.caCertPem,
    caCertPath,
    tenant: {
      tenantId: tenant.tenantId,
      clientId: tenant.clientId,
      clientSecret: tenant.clientSecret,
      clientSecretId: tenant.clientSecretId,
      domain: tenant.domain,
    },
    clock,
    groundTruth: (window, truthOptions) =>
      groundTruth(truthOptions?.includeLost ? tenant.events : countable, window, truthOptions),
    windowCompleteAt: (window) => completeAt(countable, window),
    unparsedRecords: (window, o) =>
      unparsedCount(countable, window, o?.asOf) +
      (o?.includeMalformed ? malformedUnparsed(window, o.asOf) : 0),
    inactiveApps: (query) => inactiveApps(countable, query),
    graphSubmissions: () => graph.submitted(),
    graphUsers: () => graphUsers.users(),
    badInput: () => badReport(),
    foreignRequests: () => parts.foreignRequests.map((r) => ({ ...r })),
    listable: (contentType, from, to) => api.listable(contentType, from.getTime(), to.getTime()),
    listed: (contentType, from, to) => api.listed(contentType, from.getTime(), to.getTime()),
    revokeTokens: () => revokeTokens(parts),
    setUserReadAll: (granted) => {
      parts.tokenContext.userReadAll = granted;
    },
    setGraphUsersOutage: (requests) => graphUsers.outage(requests),
    issuedTokens: () => signer.issued(),
    dataverse,
    managedIdentity: {
      ...identity,
      endpoint: identityEndpoint.endpoint,
      header: identityHeader,
      issuer,
    },
    federatedCredentials: () => parts.tokenContext.federation.credentials.map((c) => ({ ...c })),
    setFederatedCredentials: (credentials, setOptions = {}) => {
      parts.tokenContext.federation.credentials = credentials.map((c) => ({ ...c }));
      parts.tokenContext.federation.pendingRequests = setOptions.propagationRequests ?? 0;
    },
    stats: () => ({
      requests: parts.counters.requests,
      requestsByPublisher: { ...parts.counters.requestsByPublisher },
      unauthorized: parts.counters.unauthorized,
      throttled: parts.counters.throttled,
      ...api.counters,
      ...tokenCounters,
      ...identityCounters,
      faults: { ...parts.faults.counters },
      graph: { ...graph.counters },
      graphUsers: { ...graphUsers.counters },
    }),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await dataverse?.stop();
      await Promise.all(
        [server, identityEndpoint.server].map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => resolve());
              s.closeAllConnections();
            }),
        ),
      );
      await rm(certDir, { recursive: true, force: true });
    },
  };
}
