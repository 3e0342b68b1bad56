/**
 * The bad input corpus: every injection is seen served as documented, permanently, and the
 * ground truth equals what an independent strict client written here can count: it refuses
 * foreign URIs, quarantines unreadable blobs, skips malformed records and counts the huge one.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BAD_BLOB_REASONS,
  BAD_RECORD_KINDS,
  startEmulator,
  type EmulatorOptions,
  type RunningEmulator,
} from "../../../emulator/index";
import {
  apiClient,
  errorCode,
  feedUrl,
  listAll,
  send,
  type ContentItem,
  type HttpResult,
} from "./helpers";

const HOUR = 3_600_000;
const START = new Date("2026-05-20T12:00:00Z");
const t = (ms: number) => new Date(ms).toISOString().slice(0, 19);
const TENANT = { days: 2, futureDays: 0, apps: 8, users: 20, launchesPerDay: 150 };
const HUGE = 3_000_000;

type Rec = Record<string, unknown>;

/** A strict reader: what a correct client takes from one record. */
function classify(
  r: unknown,
):
  | { type: "event"; id: string; timeMs: number; launch: boolean; appId: string; upn: string }
  | { type: "unparsed"; timeMs: number | null; id: string | null }
  | { type: "other" } {
  if (!r || typeof r !== "object" || Array.isArray(r))
    return { type: "unparsed", timeMs: null, id: null };
  const rec = r as Rec;
  if (rec.Operation !== "LaunchPowerApp" && rec.Operation !== "DeletePowerApp")
    return { type: "other" };
  const ct = rec.CreationTime;
  const timeMs =
    typeof ct === "string" && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/.test(ct)
      ? Date.parse(`${ct}Z`)
      : NaN;
  const time = Number.isFinite(timeMs) ? timeMs : null;
  const id = typeof rec.Id === "string" && rec.Id !== "" ? rec.Id : null;
  if (id === null || time === null) return { type: "unparsed", timeMs: time, id };
  const props = Array.isArray(rec.PropertyCollection)
    ? new Map(
        (rec.PropertyCollection as { Name: string; Value: string }[]).map((p) => [p.Name, p.Value]),
      )
    : new Map<string, string>();
  const appId =
    props.get("powerplatform.analytics.resource.power_app.id") ??
    (typeof rec.AppName === "string" ? rec.AppName : undefined);
  if (!appId) return { type: "unparsed", timeMs: time, id };
  return {
    type: "event",
    id,
    timeMs: time,
    launch: rec.Operation === "LaunchPowerApp",
    appId,
    upn: String(rec.UserId ?? "").toLowerCase(),
  };
}

let emu: RunningEmulator;
let api: Awaited<ReturnType<typeof apiClient>>;
let items: ContentItem[];

const get = (uri: string) => api.get(uri);

beforeAll(async () => {
  emu = await startEmulator({
    seed: "bad",
    startTime: START,
    tenant: TENANT,
    badInput: {
      blobs: [...BAD_BLOB_REASONS],
      records: [...BAD_RECORD_KINDS],
      hugeRecords: 1,
      hugeRecordBytes: HUGE,
    },
  });
  api = await apiClient(emu);
  await api.post(feedUrl(emu, "subscriptions/start", { contentType: "Audit.General" }));
  // Late records of the timeline are listed up to ~13 h after its end.
  emu.clock.advance(14 * HOUR);
  items = [];
  for (
    let from = START.getTime() - 48 * HOUR;
    from < emu.clock.now().getTime();
    from += 24 * HOUR
  ) {
    const to = Math.min(from + 24 * HOUR, emu.clock.now().getTime());
    const listed = await listAll(
      get,
      feedUrl(emu, "subscriptions/content", {
        contentType: "Audit.General",
        startTime: t(from),
        endTime: t(to),
      }),
    );
    items.push(...listed.items);
  }
});
afterAll(() => emu.stop());

describe("bad input corpus: unreadable blobs", () => {
  it("places one blob per reason in the 24 h before the start, with what each held", () => {
    const report = emu.badInput();
    expect(report.from).toBe(new Date(START.getTime() - 24 * HOUR).toISOString());
    expect(report.to).toBe(START.toISOString());
    expect(report.blobs.map((b) => b.reason)).toEqual([...BAD_BLOB_REASONS]);
    expect(new Set(report.blobs.map((b) => b.contentId)).size).toBe(BAD_BLOB_REASONS.length);
    for (const b of report.blobs) {
      expect(Date.parse(b.contentCreated)).toBeGreaterThanOrEqual(START.getTime() - 24 * HOUR);
      expect(Date.parse(b.contentCreated)).toBeLessThan(START.getTime());
      expect(b.lostLaunches).toBeGreaterThan(0);
      expect(b.recordIds).toEqual(expect.arrayContaining(b.lostRecordIds));
    }
    expect(report.foreignOrigin).toBe(`https://localhost:${new URL(emu.url).port}`);
  });

  it("answers each the same way on every attempt", async () => {
    const byReason = Object.fromEntries(emu.badInput().blobs.map((b) => [b.reason, b]));
    const listed = (id: string) => items.find((i) => i.contentId === id)!;
    for (let attempt = 0; attempt < 2; attempt++) {
      const notJson = await get(listed(byReason.notJson.contentId).contentUri);
      expect(notJson.status).toBe(200);
      expect(notJson.headers["content-type"]).toMatch(/application\/json/);
      expect(() => JSON.parse(notJson.body)).toThrow();

      const notArray = await get(listed(byReason.notArray.contentId).contentUri);
      expect(notArray.status).toBe(200);
      const value = JSON.parse(notArray.body) as unknown;
      expect(typeof value === "object" && value !== null && !Array.isArray(value)).toBe(true);

      const unknown = await get(listed(byReason.unknownError.contentId).contentUri);
      expect({ status: unknown.status, code: errorCode(unknown) }).toEqual({
        status: 400,
        code: "AF99999",
      });
    }
    expect(emu.badInput().blobs.find((b) => b.reason === "notJson")!.requests).toBe(2);
  });

  it("lists the foreign blob with a contentUri on another host; its real path answers AF20052", async () => {
    const foreign = emu.badInput().blobs.find((b) => b.reason === "foreignContentUri")!;
    const item = items.find((i) => i.contentId === foreign.contentId)!;
    expect(item.contentUri).toBe(foreign.contentUri);
    const uri = new URL(item.contentUri);
    expect(uri.host).toBe(`localhost:${new URL(emu.url).port}`);
    expect(uri.pathname.startsWith("/foreign/api/v1.0/")).toBe(true);
    const real = await get(feedUrl(emu, `audit/${foreign.contentId}`));
    expect(errorCode(real)).toBe("AF20052");
    expect(emu.foreignRequests()).toEqual([]);
  });
});

describe("bad input corpus: records", () => {
  it("injects each record kind first in a readable blob, shaped as its kind says", async () => {
    const report = emu.badInput();
    expect(report.records.map((r) => r.kind)).toEqual([...BAD_RECORD_KINDS]);
    const bad = new Set(report.blobs.map((b) => b.contentId));
    for (const info of report.records) {
      expect(bad.has(info.contentId)).toBe(false);
      const item = items.find((i) => i.contentId === info.contentId)!;
      const records = JSON.parse((await get(item.contentUri)).body) as Rec[];
      const injected = records.slice(
        0,
        report.records.filter((r) => r.contentId === info.contentId).length,
      );
      const checks: Record<string, (r: Rec) => boolean> = {
        missingId: (r) => !("Id" in r) && r.Operation === "LaunchPowerApp",
        idNotString: (r) => typeof r.Id === "number",
        creationTimeNotString: (r) => typeof r.CreationTime === "number",
        propertyCollectionNotArray: (r) =>
          typeof r.PropertyCollection === "object" && !Array.isArray(r.PropertyCollection),
        creationTimeOutOfRange: (r) => r.CreationTime === "2026-13-45T99:00:00",
        creationTimeNotADate: (r) => r.CreationTime === "yesterday",
        unknownRecordType: (r) => r.RecordType === 9999 && r.Operation === "SomethingNew",
        unknownOperation: (r) => r.RecordType === 256 && r.Operation === "SomethingNew",
      };
      expect(injected.some(checks[info.kind]), info.kind).toBe(true);
      expect(info.expected).toBe(info.kind.startsWith("unknown") ? "noise" : "unparsed");
      expect(info.appId).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it("pads a launch into a record of hugeRecordBytes, streamed in chunks, that still counts", async () => {
    const [huge] = emu.badInput().hugeRecords;
    expect(huge.bytes).toBe(HUGE);
    const item = items.find((i) => i.contentId === huge.contentId)!;
    const res = await get(item.contentUri);
    expect(res.headers["content-length"]).toBeUndefined();
    const records = JSON.parse(res.body) as Rec[];
    const record = records.find((r) => r.Id === huge.recordId)!;
    expect(Buffer.byteLength(JSON.stringify(record))).toBe(HUGE);
    expect(classify(record)).toMatchObject({ type: "event", launch: true, appId: huge.appId });
  });
});

describe("bad input corpus: the ground truth", () => {
  it("equals what a strict client counts: foreign refused, unreadable quarantined, malformed skipped", async () => {
    const quarantined = new Set<string>();
    const refused = new Set<string>();
    const byId = new Map<string, Extract<ReturnType<typeof classify>, { type: "event" }>>();
    const unparsedIds = new Set<string>();
    const unparsedTimesWithoutId: number[] = [];
    for (const item of items) {
      if (new URL(item.contentUri).origin !== emu.url) {
        refused.add(item.contentId);
        continue;
      }
      const res: HttpResult = await get(item.contentUri);
      let records: unknown;
      try {
        records = res.status === 200 ? JSON.parse(res.body) : undefined;
      } catch {
        records = undefined;
      }
      if (!Array.isArray(records)) {
        quarantined.add(item.contentId);
        continue;
      }
      for (const r of records) {
        const c = classify(r);
        if (c.type === "event") byId.set(c.id, c);
        else if (c.type === "unparsed" && c.timeMs !== null) {
          if (c.id) unparsedIds.add(`${c.id}@${c.timeMs}`);
          else unparsedTimesWithoutId.push(c.timeMs);
        }
      }
    }
    const report = emu.badInput();
    expect(refused).toEqual(
      new Set(report.blobs.filter((b) => b.reason === "foreignContentUri").map((b) => b.contentId)),
    );
    expect(quarantined).toEqual(
      new Set(report.blobs.filter((b) => b.reason !== "foreignContentUri").map((b) => b.contentId)),
    );

    const window = { from: new Date(START.getTime() - 48 * HOUR), to: START };
    expect(emu.windowCompleteAt(window)!.getTime()).toBeLessThanOrEqual(emu.clock.now().getTime());
    const counted = new Map<string, { launches: number; deleted: boolean; users: Set<string> }>();
    for (const e of byId.values()) {
      if (e.timeMs < window.from.getTime() || e.timeMs >= window.to.getTime()) continue;
      const a = counted.get(e.appId) ?? { launches: 0, deleted: false, users: new Set<string>() };
      if (e.launch) {
        a.launches++;
        a.users.add(e.upn);
      } else a.deleted = true;
      counted.set(e.appId, a);
    }
    const truth = emu.groundTruth(window);
    expect(
      Object.fromEntries(
        [...counted].map(([appId, a]) => [appId, [a.launches, a.users.size, a.deleted]]),
      ),
    ).toEqual(
      Object.fromEntries(truth.apps.map((a) => [a.appId, [a.launches, a.uniqueUsers, a.deleted]])),
    );

    const total = (r: ReturnType<RunningEmulator["groundTruth"]>) =>
      r.apps.reduce((s, a) => s + a.launches, 0);
    const lost = report.blobs.reduce((s, b) => s + b.lostLaunches, 0);
    expect(total(emu.groundTruth(window, { includeLost: true })) - total(truth)).toBe(lost);

    const inWindow = (ms: number) => ms >= window.from.getTime() && ms < window.to.getTime();
    const unparsed =
      [...unparsedIds].filter((k) => inWindow(Number(k.split("@")[1]))).length +
      unparsedTimesWithoutId.filter(inWindow).length;
    const malformed = report.records.filter(
      (r) => r.expected === "unparsed" && r.creationTime !== null,
    ).length;
    expect(malformed).toBe(3); // missingId, idNotString, propertyCollectionNotArray
    expect(unparsed).toBe(emu.unparsedRecords(window, { includeMalformed: true }));
    expect(emu.unparsedRecords(window, { includeMalformed: true })).toBe(
      emu.unparsedRecords(window) + malformed,
    );
  });
});

describe("bad input corpus: foreign URIs", () => {
  it("records what a naive client sends there, token or not, and answers 200 []", async () => {
    const foreign = emu.badInput().blobs.find((b) => b.reason === "foreignContentUri")!;
    // A naive client, the positive control: it follows the URI with its bearer token.
    const leaked = await get(foreign.contentUri);
    expect({ status: leaked.status, body: leaked.body }).toEqual({ status: 200, body: "[]" });
    const bare = await send(emu.caCertPem, "GET", foreign.contentUri);
    expect(bare.status).toBe(200);
    const seen = emu.foreignRequests();
    expect(seen).toHaveLength(2);
    expect(seen[0]).toMatchObject({
      method: "GET",
      host: `localhost:${new URL(emu.url).port}`,
      path: `/api/v1.0/${emu.tenant.tenantId}/activity/feed/audit/${foreign.contentId}`,
      authorizationScheme: "Bearer",
      sentEmulatorToken: true,
    });
    expect(seen[1]).toMatchObject({ authorizationScheme: null, sentEmulatorToken: false });
    // Its requests count both ways in: the foreign URI and (an earlier test) its real path.
    expect(emu.badInput().blobs.find((b) => b.reason === "foreignContentUri")!.requests).toBe(
      foreign.requests + 2,
    );
  });
});

async function tiny(
  badInput: EmulatorOptions["badInput"],
  body: (e: RunningEmulator, c: Awaited<ReturnType<typeof apiClient>>) => Promise<void>,
  pageSize = 5,
) {
  const e = await startEmulator({
    seed: "bad-tiny",
    startTime: START,
    pageSize,
    tenant: { days: 1, futureDays: 0, apps: 4, users: 5, launchesPerDay: 60 },
    badInput,
  });
  try {
    const c = await apiClient(e);
    await c.post(feedUrl(e, "subscriptions/start", { contentType: "Audit.General" }));
    await body(e, c);
  } finally {
    await e.stop();
  }
}

const window = {
  contentType: "Audit.General",
  startTime: "2026-05-20T06:00",
  endTime: "2026-05-20T12:00",
};

/** Follows real NextPageUri links (those on this origin with a nextPage token) to the last page. */
async function lastPage(e: RunningEmulator, c: { get: (u: string) => Promise<HttpResult> }) {
  let res = await c.get(feedUrl(e, "subscriptions/content", window));
  let pages = 1;
  for (;;) {
    const next = res.headers.nextpageuri as string | undefined;
    if (!next || !next.startsWith(e.url) || !new URL(next).searchParams.has("nextPage")) break;
    res = await c.get(next);
    pages++;
  }
  return { res, pages };
}

describe("bad input corpus: NextPageUri on the last page", () => {
  it("is absent by default", async () => {
    await tiny({}, async (e, c) => {
      const { res, pages } = await lastPage(e, c);
      expect(pages).toBeGreaterThan(1);
      expect(res.headers.nextpageuri).toBeUndefined();
      expect(e.badInput()).toMatchObject({ blobs: [], records: [], hugeRecords: [] });
    });
  });

  it('"empty" sends the header with an empty value', async () => {
    await tiny({ finalNextPageUri: "empty" }, async (e, c) => {
      const { res } = await lastPage(e, c);
      expect(res.headers.nextpageuri).toBe("");
    });
  });

  it('"notAUrl" sends something no URL parser takes', async () => {
    await tiny({ finalNextPageUri: "notAUrl" }, async (e, c) => {
      const { res } = await lastPage(e, c);
      expect(() => new URL(res.headers.nextpageuri as string)).toThrow();
    });
  });

  it('"sameListing" points back at the listing\'s first page, forever', async () => {
    await tiny({ finalNextPageUri: "sameListing" }, async (e, c) => {
      const first = await c.get(feedUrl(e, "subscriptions/content", window));
      const { res, pages } = await lastPage(e, c);
      expect(pages).toBeGreaterThan(1);
      const loop = res.headers.nextpageuri as string;
      expect(new URL(loop).searchParams.has("nextPage")).toBe(false);
      const again = await c.get(loop);
      expect(again.body).toBe(first.body);
    });
  });

  it('"foreignHost" points at another host, which records a client that follows it', async () => {
    await tiny({ finalNextPageUri: "foreignHost" }, async (e, c) => {
      const { res } = await lastPage(e, c);
      const next = new URL(res.headers.nextpageuri as string);
      expect(next.host).toBe(`localhost:${new URL(e.url).port}`);
      expect(next.pathname).toBe(
        `/foreign/api/v1.0/${e.tenant.tenantId}/activity/feed/subscriptions/content`,
      );
      expect(e.foreignRequests()).toEqual([]);
      expect(e.badInput().foreignOrigin).toBe(next.origin);
      await c.get(next.toString());
      expect(e.foreignRequests()).toMatchObject([
        { authorizationScheme: "Bearer", sentEmulatorToken: true },
      ]);
    });
  });

  it("leaves other content types alone", async () => {
    await tiny(
      { finalNextPageUri: "empty" },
      async (e, c) => {
        await c.post(feedUrl(e, "subscriptions/start", { contentType: "Audit.SharePoint" }));
        const res = await c.get(
          feedUrl(e, "subscriptions/content", { ...window, contentType: "Audit.SharePoint" }),
        );
        expect(res.headers.nextpageuri).toBeUndefined();
      },
      1000,
    );
  });
});

describe("bad input corpus: defaults and placement", () => {
  it("is off by default: no injection, no /foreign/ route, the whole truth counts", async () => {
    await tiny(undefined, async (e, c) => {
      const w = { from: new Date(START.getTime() - 24 * HOUR), to: START };
      expect(e.groundTruth(w)).toEqual(e.groundTruth(w, { includeLost: true }));
      expect(e.badInput()).toMatchObject({
        blobs: [],
        records: [],
        hugeRecords: [],
        foreignOrigin: null,
        finalNextPageUri: null,
      });
      const res = await c.get(
        `${e.url}/foreign/api/v1.0/${e.tenant.tenantId}/activity/feed/audit/x`,
      );
      expect(res.status).not.toBe(200);
      expect(e.foreignRequests()).toEqual([]);
      const { items: listed } = await listAll(c.get, feedUrl(e, "subscriptions/content", window));
      expect(listed.every((i) => i.contentUri.startsWith(e.url))).toBe(true);
    });
  });

  it("is deterministic by seed and honours from/to", async () => {
    const opts = {
      blobs: ["notJson", "unknownError"] as const,
      records: ["missingId"] as const,
      hugeRecords: 1,
      hugeRecordBytes: 10_000,
      from: new Date("2026-05-20T08:00:00Z"),
      to: new Date("2026-05-20T12:00:00Z"),
    };
    const reports: string[] = [];
    for (const seed of ["p", "p", "q"]) {
      const e = await startEmulator({
        seed,
        startTime: START,
        tenant: { days: 1, futureDays: 0, launchesPerDay: 80 },
        badInput: { ...opts, blobs: [...opts.blobs], records: [...opts.records] },
      });
      const r = e.badInput();
      await e.stop();
      for (const b of [...r.blobs, ...r.records, ...r.hugeRecords]) {
        const created = b.contentId.slice(0, 14);
        expect(created >= "20260520080000" && created < "20260520120000").toBe(true);
      }
      reports.push(
        JSON.stringify([
          r.blobs.map((b) => b.contentId),
          r.records,
          r.hugeRecords.map((h) => h.recordId),
        ]),
      );
    }
    expect(reports[1]).toBe(reports[0]);
    expect(reports[2]).not.toBe(reports[0]);
  });

  it("rejects bad options and a window without enough blobs", async () => {
    const error = await startEmulator({
      badInput: {
        blobs: ["notJson", "nope" as never],
        records: ["missingId", "bad" as never],
        hugeRecordBytes: 10,
        from: new Date("2026-05-20T00:00:00Z"),
        unknownErrorStatus: 500,
        foreignHost: "127.0.0.1",
        finalNextPageUri: "sometimes" as never,
      },
      faults: { revokeTokensAtRequests: [0] },
    }).catch((e: Error) => e);
    for (const problem of [
      "badInput.blobs must be a list of",
      "badInput.records must be a list of",
      "badInput.hugeRecordBytes must be an integer >= 4096, got 10",
      "badInput.from and badInput.to go together",
      "badInput.unknownErrorStatus must be a 4xx status, got 500",
      "badInput.foreignHost must differ from 127.0.0.1",
      "badInput.finalNextPageUri must be null or one of",
      "faults.revokeTokensAtRequests must be a list of integers >= 1, got [0]",
    ])
      expect((error as Error).message).toContain(problem);

    const empty = await startEmulator({
      startTime: START,
      tenant: { days: 1, futureDays: 0 },
      badInput: {
        blobs: ["notJson"],
        hugeRecords: 1,
        from: new Date("2026-06-01T00:00:00Z"),
        to: new Date("2026-06-02T00:00:00Z"),
      },
    }).catch((e: Error) => e);
    expect((empty as Error).message).toContain(
      "badInput: 1 unreadable blobs asked, but only 0 Audit.General blobs are created in [2026-06-01T00:00:00.000Z, 2026-06-02T00:00:00.000Z)",
    );
    expect((empty as Error).message).toContain("1 huge records asked");
  });
});
