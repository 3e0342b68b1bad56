/**
 * Drives a Dataverse environment with dynamics-web-api (a widely used third-party Web API client)
 * through the operations the sink relies on, and prints what the client made of each answer as
 * one JSON line. It runs as its own process so the client trusts the emulator's CA the way any
 * Node program would (NODE_EXTRA_CA_CERTS): the library builds its own HTTPS agent.
 *
 * Environment: DV_URL (environment URL), DV_TOKEN (a bearer token for it), DV_APPS (JSON array of
 * app ids seeded in admin_apps), DV_ROWS (JSON array of fresh admin_auditlog ids to write).
 */
import { DynamicsWebApi } from "dynamics-web-api";

const url = process.env.DV_URL!;
const token = process.env.DV_TOKEN!;
const apps = JSON.parse(process.env.DV_APPS!) as string[];
const rows = JSON.parse(process.env.DV_ROWS!) as string[];
const T = "2026-03-01T10:00:00Z";

const client = new DynamicsWebApi({
  serverUrl: url,
  dataApi: { version: "9.2" },
  onTokenRefresh: async () => token,
});

/**
 * The status, code and message of what the client threw (an array for a failed batch). The
 * client keeps Dataverse's error body as it parsed it: code and message at the top for a single
 * request, under `error` for a batch part.
 */
function failure(err: unknown): unknown {
  type Thrown = { status?: number; code?: string; message?: string; error?: Thrown };
  const one = (e: Thrown) => ({
    status: e.status,
    code: e.code ?? e.error?.code,
    message: e.message || e.error?.message,
  });
  return Array.isArray(err) ? err.map(one) : one(err as Thrown);
}

async function attempt<T>(work: () => Promise<T>): Promise<{ ok: T } | { error: unknown }> {
  try {
    return { ok: await work() };
  } catch (err) {
    return { error: failure(err) };
  }
}

const out: Record<string, unknown> = {};

// Upsert by key, the way the sink writes a launch (with the app lookup bound).
out.upsert = await attempt(() =>
  client.upsert({
    collection: "admin_auditlogs",
    key: rows[0],
    data: {
      admin_creationtime: T,
      admin_operation: "LaunchPowerApp",
      "admin_AppLookup@odata.bind": `admin_apps(${apps[0]})`,
    },
  }),
);

// Bulk lookups: the apps of a set of ids, columns selected; then every app, two per page.
out.filtered = await attempt(async () => {
  const res = await client.retrieveMultiple({
    collection: "admin_apps",
    select: ["admin_appid", "admin_displayname"],
    filter: `admin_appid eq ${apps[0]} or admin_appid eq ${apps[1]}`,
  });
  return res.value.map((r: Record<string, unknown>) => r.admin_appid).sort();
});
out.paged = await attempt(async () => {
  const res = await client.retrieveAll({
    collection: "admin_apps",
    select: ["admin_appid"],
    maxPageSize: 2,
  });
  return res.value.map((r: Record<string, unknown>) => r.admin_appid).sort();
});
out.firstPage = await attempt(async () => {
  const res = await client.retrieveMultiple({
    collection: "admin_apps",
    select: ["admin_appid"],
    maxPageSize: 2,
  });
  return { count: res.value.length, hasNext: typeof res.oDataNextLink === "string" };
});

// A conditional update with the row's ETag: applied once, refused (412) when the ETag is stale.
const app = await client.retrieve({
  collection: "admin_apps",
  key: apps[2],
  select: ["admin_applastlaunchedon"],
});
const etag = app["@odata.etag"] as string;
out.etag = etag;
out.conditional = await attempt(() =>
  client.update({
    collection: "admin_apps",
    key: apps[2],
    ifmatch: etag,
    data: { admin_applastlaunchedon: T },
  }),
);
out.stale = await attempt(() =>
  client.update({
    collection: "admin_apps",
    key: apps[2],
    ifmatch: etag,
    data: { admin_applastlaunchedon: "2026-02-01T00:00:00Z" },
  }),
);
const current = await client.retrieve({ collection: "admin_apps", key: apps[2] });
out.notModified = await attempt(async () => {
  const res = await client.retrieve({
    collection: "admin_apps",
    key: apps[2],
    ifnonematch: current["@odata.etag"] as string,
  });
  return res ?? null;
});
out.representation = await attempt(() =>
  client.update({
    collection: "admin_apps",
    key: apps[2],
    returnRepresentation: true,
    select: ["admin_applastlaunchedon"],
    data: { admin_appdeleted: false },
  }),
);

// A $batch whose writes form one change set: all applied.
client.startBatch();
void client.upsert({
  collection: "admin_auditlogs",
  key: rows[1],
  data: { admin_creationtime: T },
});
void client.upsert({
  collection: "admin_auditlogs",
  key: rows[2],
  data: { admin_creationtime: T },
});
out.batch = await attempt(() => client.executeBatch());

// A $batch whose change set fails: the client must see the failure, and nothing is written.
client.startBatch();
void client.upsert({
  collection: "admin_auditlogs",
  key: rows[3],
  data: { admin_creationtime: T },
});
void client.upsert({
  collection: "admin_auditlogs",
  key: rows[4],
  data: { admin_creationtime: T, admin_appid: "x".repeat(101) },
});
out.failedBatch = await attempt(() => client.executeBatch());

// The same with continue-on-error, requests outside a change set: the good one is written.
client.startBatch();
void client.upsert({
  collection: "admin_auditlogs",
  key: rows[5],
  data: { admin_creationtime: T, admin_appid: "x".repeat(101) },
  inChangeSet: false,
});
void client.upsert({
  collection: "admin_auditlogs",
  key: rows[6],
  data: { admin_creationtime: T },
  inChangeSet: false,
});
out.continued = await attempt(() => client.executeBatch({ continueOnError: true }));

// Whether the table has UpsertMultiple, as Microsoft's bulk sample asks; then use it.
out.hasUpsertMultiple = await attempt(async () => {
  const res = await client.retrieveMultiple({
    collection: "sdkmessagefilters",
    select: ["sdkmessagefilterid"],
    filter: "sdkmessageid/name eq 'UpsertMultiple' and primaryobjecttypecode eq 'admin_auditlog'",
  });
  return res.value.length;
});
out.upsertMultiple = await attempt(async () => {
  const res = await client.callAction({
    collection: "admin_auditlogs",
    actionName: "Microsoft.Dynamics.CRM.UpsertMultiple",
    action: {
      Targets: [rows[7], rows[8]].map((id) => ({
        "@odata.type": "Microsoft.Dynamics.CRM.admin_auditlog",
        admin_auditlogid: id,
        admin_creationtime: T,
      })),
    },
  });
  return res ?? null;
});

process.stdout.write(`${JSON.stringify(out)}\n`);
