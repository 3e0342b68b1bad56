/**
 * A local stand-in for Entra (client credentials) and the Office 365 Management Activity API,
 * serving a deterministic synthetic tenant whose ground truth is known. See emulator/README.md.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ActivityApi } from "./activity-api";
import { createClock, type EmulatorClock } from "./clock";
import { Faults, type FaultCounters } from "./faults";
import { resolveOptions, type EmulatorOptions } from "./options";
import { Quota } from "./quota";
import { createEmulatorServer, listen, serveRequests, type ServerParts } from "./server";
import { generateTenant } from "./tenant/generator";
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

export type { EmulatorOptions, TenantOptions, ContentOptions, FaultOptions } from "./options";
export type { EmulatorClock } from "./clock";
export type {
  AppUsage,
  InactiveApp,
  InactiveAppsQuery,
  UsageReport,
  TruthWindow,
  TruthOptions,
} from "./tenant/ground-truth";
export { CONTENT_TYPES, NOISE_CONTENT_TYPES, POWER_APPS_CONTENT_TYPE } from "./options";

export interface EmulatorStats {
  /** Calls to the activity API (all outcomes). */
  requests: number;
  requestsByPublisher: Record<string, number>;
  unauthorized: number;
  throttled: number;
  listings: number;
  blobsServed: number;
  recordsServed: number;
  tokenRequests: number;
  tokensIssued: number;
  tokenErrors: number;
  faults: FaultCounters;
}

export interface RunningEmulator {
  /** https://127.0.0.1:PORT — also the authority host and the audience. */
  url: string;
  authority: string;
  audience: string;
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
  /** What a correct client reports for the window (usage report semantics). */
  groundTruth(window: TruthWindow, options?: TruthOptions): UsageReport;
  /**
   * When the window's last record is first listed (null if it has none). A client that has synced
   * up to a clock past this time can match groundTruth(window) exactly.
   */
  windowCompleteAt(window: TruthWindow): Date | null;
  /**
   * The inactiveApps a client reports when it has synced every record created from `seenFrom`
   * (the usage report's all-time "not launched for staleDays days" list).
   */
  inactiveApps(query: InactiveAppsQuery): InactiveApp[];
  /** Launch records in the window with neither app id form. */
  unparsedRecords(window: TruthWindow, options?: { asOf?: Date }): number;
  stats(): EmulatorStats;
  stop(): Promise<void>;
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const resolved = resolveOptions(options);
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
  const certs = await makeCertificates();
  // The origin (with its port) is in every URL served, so the parts are built once it is known.
  const server = createEmulatorServer(certs);
  const url = await listen(server, resolved.port);
  const signer = new TokenSigner();
  const tokenCounters = { tokenRequests: 0, tokensIssued: 0, tokenErrors: 0 };
  const api = new ActivityApi(url, tenant, clock, resolved);
  const parts: ServerParts = {
    options: resolved,
    faults: new Faults(resolved.seed, resolved.faults, resolved.latencyMs),
    quota: new Quota(resolved.quotaPerMinute, resolved.sharedQuotaPerMinute),
    signer,
    counters: { requests: 0, unauthorized: 0, throttled: 0, requestsByPublisher: {} },
    api,
    tokenContext: {
      origin: url,
      audience: url,
      tenantId: tenant.tenantId,
      domain: tenant.domain,
      clientId: tenant.clientId,
      clientSecret: tenant.clientSecret,
      tokenLifetimeSeconds: resolved.tokenLifetimeSeconds,
      consentGranted: resolved.consentGranted,
      signer,
      counters: tokenCounters,
    },
  };
  serveRequests(server, parts);

  const certDir = await mkdtemp(join(tmpdir(), "audit-emulator-"));
  const caCertPath = join(certDir, "ca.pem");
  await writeFile(caCertPath, certs.caCertPem);

  let stopped = false;
  return {
    url,
    authority: url,
    audience: url,
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
    groundTruth: (window, truthOptions) => groundTruth(tenant.events, window, truthOptions),
    windowCompleteAt: (window) => completeAt(tenant.events, window),
    unparsedRecords: (window, o) => unparsedCount(tenant.events, window, o?.asOf),
    inactiveApps: (query) => inactiveApps(tenant.events, query),
    stats: () => ({
      requests: parts.counters.requests,
      requestsByPublisher: { ...parts.counters.requestsByPublisher },
      unauthorized: parts.counters.unauthorized,
      throttled: parts.counters.throttled,
      ...api.counters,
      ...tokenCounters,
      faults: { ...parts.faults.counters },
    }),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await rm(certDir, { recursive: true, force: true });
    },
  };
}
