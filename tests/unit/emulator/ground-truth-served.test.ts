/**
 * The ground truth must match what a client can actually download: these tests list and fetch
 * every blob of a window over HTTPS, parse the records with an independent reader written here
 * (both schemas), de-duplicate by Id, and recount with the report semantics.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type RunningEmulator, type UsageReport } from "../../../emulator/index";
import { apiClient, feedUrl, listAll, send } from "./helpers";

const START = new Date("2026-05-20T12:00:00Z");
type Rec = Record<string, unknown> & { Id: string; CreationTime: string; Operation: string };

interface Parsed {
  id: string;
  timeMs: number;
  launch: boolean;
  appId: string | null;
  appName: string | null;
  environmentId: string | null;
  upn: string;
}

function parse(r: Rec): Parsed | null {
  if (r.Operation !== "LaunchPowerApp" && r.Operation !== "DeletePowerApp") return null;
  const props = new Map(
    ((r.PropertyCollection as { Name: string; Value: string }[] | undefined) ?? []).map((p) => [
      p.Name,
      p.Value,
    ]),
  );
  const appId =
    props.get("powerplatform.analytics.resource.power_app.id") ??
    (r.AppName as string | undefined) ??
    null;
  return {
    id: r.Id,
    timeMs: Date.parse(`${r.CreationTime}Z`),
    launch: r.Operation === "LaunchPowerApp",
    appId,
    appName: props.get("powerplatform.analytics.resource.power_app.display_name") ?? null,
    environmentId:
      props.get("powerplatform.analytics.resource.environment.id") ??
      (r.EnvironmentId as string | undefined) ??
      (r.EnvironmentName as string | undefined) ??
      null,
    upn: (r.UserId as string | undefined) ?? props.get("enduser.principal_name") ?? "",
  };
}

function recount(
  records: Parsed[],
  from: Date,
  to: Date,
): { report: UsageReport; unparsed: number } {
  const inWindow = records.filter((r) => r.timeMs >= from.getTime() && r.timeMs < to.getTime());
  const apps = new Map<string, Parsed[]>();
  let unparsed = 0;
  for (const r of inWindow) {
    if (r.appId === null) {
      unparsed++;
      continue;
    }
    apps.set(r.appId, [...(apps.get(r.appId) ?? []), r]);
  }
  const latestFirst = (a: Parsed, b: Parsed) => b.timeMs - a.timeMs || (a.id < b.id ? 1 : -1);
  const report: UsageReport = {
    from: from.toISOString(),
    to: to.toISOString(),
    apps: [...apps.entries()].map(([appId, rs]) => {
      const launches = rs.filter((r) => r.launch).sort(latestFirst);
      const sorted = [...rs].sort(latestFirst);
      return {
        appId,
        appName: sorted.find((r) => r.appName !== null)?.appName ?? null,
        environmentId: sorted.find((r) => r.environmentId !== null)?.environmentId ?? null,
        launches: launches.length,
        uniqueUsers: new Set(launches.map((r) => r.upn.toLowerCase())).size,
        lastLaunchedAt: launches[0] ? new Date(launches[0].timeMs).toISOString() : null,
        lastLaunchedBy: launches[0]?.upn ?? null,
        deleted: rs.some((r) => !r.launch),
      };
    }),
  };
  report.apps.sort((a, b) => b.launches - a.launches || a.appId.localeCompare(b.appId));
  return { report, unparsed };
}

let emu: RunningEmulator;
let api: Awaited<ReturnType<typeof apiClient>>;

async function download(windows: [string, string][]): Promise<{ records: Rec[]; blobs: number }> {
  const records: Rec[] = [];
  let blobs = 0;
  for (const [startTime, endTime] of windows) {
    const { items } = await listAll(
      api.get,
      feedUrl(emu, "subscriptions/content", { contentType: "Audit.General", startTime, endTime }),
    );
    for (const item of items) {
      const res = await api.get(`${item.contentUri}?PublisherIdentifier=${emu.tenant.tenantId}`);
      expect(res.status).toBe(200);
      records.push(...(JSON.parse(res.body) as Rec[]));
      blobs++;
    }
  }
  return { records, blobs };
}

function dedupe(records: Rec[]): Parsed[] {
  const byId = new Map<string, Parsed>();
  for (const r of records) {
    const p = parse(r);
    if (p) byId.set(p.id, p);
  }
  return [...byId.values()];
}

beforeAll(async () => {
  emu = await startEmulator({
    seed: "served",
    startTime: START,
    pageSize: 50,
    tenant: {
      days: 7,
      futureDays: 1,
      apps: 12,
      users: 30,
      launchesPerDay: 150,
      deletes: 4,
      unparsedShare: 0.03,
    },
    content: { duplicateShare: 0.05 },
  });
  api = await apiClient(emu);
  await api.post(feedUrl(emu, "subscriptions/start", { contentType: "Audit.General" }));
});
afterAll(() => emu.stop());

describe("ground truth against served records", () => {
  it("matches an independent recount of every record served for a past weekday", async () => {
    const from = new Date("2026-05-18T00:00:00Z");
    const to = new Date("2026-05-19T00:00:00Z");
    // Records of the day keep arriving for up to ~15 hours after it, so list the next day too.
    const { records } = await download([
      ["2026-05-18T00:00", "2026-05-19T00:00"],
      ["2026-05-19T00:00", "2026-05-20T00:00"],
    ]);
    const ids = records.map((r) => r.Id);
    expect(new Set(ids).size).toBeLessThan(ids.length); // some records were served twice
    expect(records.some((r) => r.RecordType === 256 && r.Operation === "LaunchPowerApp")).toBe(
      true,
    );
    expect(records.some((r) => r.RecordType === 45 && r.Operation === "LaunchPowerApp")).toBe(true);
    expect(
      records.some((r) => r.Workload === "MicrosoftTeams" || r.Workload === "MicrosoftFlow"),
    ).toBe(true);

    const { report, unparsed } = recount(dedupe(records), from, to);
    const truth = emu.groundTruth({ from, to });
    expect(truth.apps.length).toBeGreaterThan(3);
    expect(truth.apps.some((a) => a.uniqueUsers > 1)).toBe(true);
    expect(report).toEqual(truth);
    expect(unparsed).toBeGreaterThan(0);
    expect(unparsed).toBe(emu.unparsedRecords({ from, to }));
  });

  it("shows deleted apps in the window of their DeletePowerApp record", async () => {
    const deleted = emu
      .groundTruth({ from: new Date("2026-05-13T12:00:00Z"), to: new Date("2026-05-21T12:00:00Z") })
      .apps.filter((a) => a.deleted);
    expect(deleted).toHaveLength(4);
  });

  it("with asOf = now, matches what has been listed so far for the latest hours", async () => {
    const from = new Date(START.getTime() - 6 * 3_600_000);
    const { records } = await download([
      [from.toISOString().slice(0, 19), START.toISOString().slice(0, 19)],
    ]);
    const { report } = recount(dedupe(records), from, START);
    const complete = emu.groundTruth({ from, to: START });
    const soFar = emu.groundTruth({ from, to: START }, { asOf: START });
    expect(report).toEqual(soFar);
    const total = (r: UsageReport) => r.apps.reduce((s, a) => s + a.launches, 0);
    expect(total(soFar)).toBeLessThan(total(complete));
  });
});

describe("big blobs", () => {
  it("streams a multi-megabyte blob in chunks, holding the tenant's records among the noise", async () => {
    const big = await startEmulator({
      seed: "big",
      startTime: START,
      tenant: { days: 1, futureDays: 0, launchesPerDay: 200 },
      content: { bigBlobShare: 1, bigBlobBytes: [3_000_000, 3_000_000] },
    });
    try {
      const c = await apiClient(big);
      await c.post(feedUrl(big, "subscriptions/start", { contentType: "Audit.General" }));
      const { items } = await listAll(
        c.get,
        feedUrl(big, "subscriptions/content", {
          contentType: "Audit.General",
          startTime: "2026-05-20T06:00",
          endTime: "2026-05-20T12:00",
        }),
      );
      const res = await send(big.caCertPem, "GET", items[items.length - 1].contentUri, {
        headers: { Authorization: `Bearer ${c.token}` },
      });
      expect(res.status).toBe(200);
      expect(res.headers["content-length"]).toBeUndefined();
      expect(res.body.length).toBeGreaterThan(2_000_000);
      const records = JSON.parse(res.body) as Rec[];
      expect(records.length).toBeGreaterThan(3000);
      expect(records.some((r) => r.Operation === "LaunchPowerApp")).toBe(true);
    } finally {
      await big.stop();
    }
  });
});
