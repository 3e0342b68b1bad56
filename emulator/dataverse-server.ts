/**
 * The Dataverse environment beside the activity API: its own HTTPS origin (so its token audience
 * differs from the API's, as a real environment URL does), the CoE tables seeded with the
 * tenant's apps as the CoE inventory flows would have left them, and the truth a Dataverse sink
 * must reach, from the tenant's events.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { createEmulatorServer, listen } from "./server";
import type { EmulatorCertificates } from "./tls";
import type { Tenant, TenantEvent } from "./tenant/generator";
import type { TokenSigner } from "./tokens";
import { APP_TABLE, AUDIT_LOG_TABLE, ENVIRONMENT_TABLE } from "./dataverse-tables";
import {
  DataverseEnvironment,
  type DataverseCounters,
  type DataverseOptions,
  type DataverseRow,
  type DataverseWriteRequest,
  type ApplicationUserState,
} from "./dataverse";

export interface DataverseEmulatorOptions extends DataverseOptions {
  /**
   * Every n-th app of the tenant (1-based) is left out of admin_apps, as apps the inventory has
   * not picked up yet. Default 10; 0 seeds every app.
   */
  missingAppEvery?: number;
}

/** What admin_apps must say of one seeded app once every countable record is synced. */
export interface CoeAppTruth {
  appId: string;
  /** The latest launch's CreationTime (ISO, seconds, Z), or null. */
  lastLaunchedOn: string | null;
  deleted: boolean;
  /** The (latest) DeletePowerApp CreationTime, or null. */
  deletedOn: string | null;
}

export interface RunningDataverse {
  /** The environment URL, https://127.0.0.1:PORT (token scope {url}/.default). */
  url: string;
  rows(entitySet: string): DataverseRow[];
  /**
   * Puts a row as an admin or the CoE inventory flows would (no checks, a new ETag): an app the
   * inventory picked up, or a run of its flows that rewrote admin_apps.
   */
  seed(entitySet: "admin_apps" | "admin_environments", id: string, row: DataverseRow): void;
  /** The tenant's countable LaunchPowerApp events: what rows the CoE flows would write follow from. */
  launches(): readonly TenantEvent[];
  /** App ids seeded into admin_apps (the others are missing from it). */
  seededAppIds(): string[];
  /** admin_apps as the flows would leave it for the seeded apps, from the tenant's events. */
  appTruth(): CoeAppTruth[];
  setApplicationUser(state: ApplicationUserState): void;
  /**
   * A bearer token of the environment's administrator, as the deployer's Azure CLI sign-in would
   * hold (what the Pulumi program creates the application user with).
   */
  administratorToken(): string;
  /** Takes the environment down (every request 503) or brings it back. */
  setDown(down: boolean): void;
  counters(): DataverseCounters;
  /** The write requests (`$batch`, bulk messages) answered, oldest first, with their sizes. */
  writes(): DataverseWriteRequest[];
  stop(): Promise<void>;
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

export async function startDataverse(
  certs: EmulatorCertificates,
  tenant: Tenant,
  countable: readonly TenantEvent[],
  signer: TokenSigner,
  options: DataverseEmulatorOptions,
): Promise<RunningDataverse> {
  const server = createEmulatorServer(certs);
  const url = await listen(server, 0);
  const env = new DataverseEnvironment(
    { origin: url, tenantId: tenant.tenantId, clientId: tenant.clientId, signer },
    options,
  );
  const every = options.missingAppEvery ?? 10;
  const seeded = tenant.apps.filter((_, i) => every === 0 || (i + 1) % every !== 0);
  for (const app of seeded) {
    env.store.seed(APP_TABLE.entitySet, app.id, {
      admin_displayname: app.name.slice(0, 200),
      admin_appenvironmentid: app.environmentId,
      admin_applastlaunchedon: null,
      admin_appdeleted: false,
      admin_appdeletedon: null,
      // The inventory flows' answer to "does it use a premium connector": every third app.
      admin_usespremiumapi: tenant.apps.indexOf(app) % 3 === 0,
    });
  }
  tenant.environments.forEach((id, i) =>
    env.store.seed(ENVIRONMENT_TABLE.entitySet, id, {
      admin_displayname: `Environment ${i + 1}`,
    }),
  );
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    env.serve(req, res).catch((err: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ error: { code: "0x80040216", message: String(err) } }));
      } else res.destroy();
    });
  });
  return {
    url,
    rows: (set) => env.store.rows(set),
    seed: (set, id, row) => env.store.seed(set, id, row),
    launches: () => countable.filter((e) => e.operation === "LaunchPowerApp"),
    seededAppIds: () => seeded.map((a) => a.id.toLowerCase()),
    appTruth: () =>
      seeded.map((app) => {
        const mine = countable.filter((e) => e.appId?.toLowerCase() === app.id.toLowerCase());
        const launches = mine.filter((e) => e.operation === "LaunchPowerApp");
        const deletes = mine.filter((e) => e.operation === "DeletePowerApp");
        const last = launches.reduce<number | null>(
          (m, e) => (m === null || e.timeMs > m ? e.timeMs : m),
          null,
        );
        const deleted = deletes.reduce<number | null>(
          (m, e) => (m === null || e.timeMs > m ? e.timeMs : m),
          null,
        );
        return {
          appId: app.id.toLowerCase(),
          lastLaunchedOn: last === null ? null : iso(last),
          deleted: deleted !== null,
          deletedOn: deleted === null ? null : iso(deleted),
        };
      }),
    setApplicationUser: (state) => env.setApplicationUser(state),
    administratorToken: () => env.administratorToken(),
    setDown: (down) => {
      env.down = down;
    },
    counters: () => ({ ...env.counters }),
    writes: () => env.writes.map((w) => ({ ...w })),
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export { AUDIT_LOG_TABLE, APP_TABLE };
