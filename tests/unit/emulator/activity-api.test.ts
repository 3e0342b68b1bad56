import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type RunningEmulator } from "../../../emulator/index";
import {
  apiClient,
  errorCode,
  feedUrl,
  listAll,
  type ContentItem,
  type HttpResult,
} from "./helpers";

const START = new Date("2026-05-20T12:00:00Z");
const SMALL = {
  days: 7,
  futureDays: 1,
  apps: 8,
  users: 20,
  launchesPerDay: 80,
  noisePerBlob: [0, 3] as [number, number],
};

let emu: RunningEmulator;
let api: Awaited<ReturnType<typeof apiClient>>;

beforeAll(async () => {
  emu = await startEmulator({ seed: "api", startTime: START, pageSize: 25, tenant: SMALL });
  api = await apiClient(emu);
  for (const ct of ["Audit.General", "Audit.SharePoint"])
    expect((await api.post(feedUrl(emu, "subscriptions/start", { contentType: ct }))).status).toBe(
      200,
    );
});
afterAll(() => emu.stop());

function content(params: Record<string, string>, target = emu): string {
  return feedUrl(target, "subscriptions/content", { contentType: "Audit.General", ...params });
}

function expectError(res: HttpResult, status: number, code: string) {
  expect({ status: res.status, code: errorCode(res) }).toEqual({ status, code });
  expect(res.headers["content-type"]).toMatch(/application\/json/);
}

describe("subscriptions", () => {
  it("start, double start (AF20024), list, stop, listing while stopped (AF20023), restart", async () => {
    const local = await startEmulator({
      seed: "subs",
      startTime: START,
      tenant: { days: 1, futureDays: 0 },
    });
    try {
      const c = await apiClient(local);
      const url = (path: string, ct = "Audit.Exchange") =>
        feedUrl(local, path, { contentType: ct });
      expectError(await c.get(url("subscriptions/content")), 400, "AF20022");
      const started = await c.post(url("subscriptions/start"));
      expect(started.status).toBe(200);
      expect(JSON.parse(started.body)).toEqual({
        contentType: "Audit.Exchange",
        status: "enabled",
        webhook: null,
      });
      expectError(await c.post(url("subscriptions/start")), 400, "AF20024");
      expect(JSON.parse((await c.get(feedUrl(local, "subscriptions/list"))).body)).toEqual([
        { contentType: "Audit.Exchange", status: "enabled", webhook: null },
      ]);
      expect((await c.get(url("subscriptions/content"))).status).toBe(200);
      expect((await c.post(url("subscriptions/stop"))).status).toBe(200);
      expect(JSON.parse((await c.get(feedUrl(local, "subscriptions/list"))).body)[0].status).toBe(
        "disabled",
      );
      expectError(await c.get(url("subscriptions/content")), 400, "AF20023");
      expectError(await c.post(url("subscriptions/stop", "DLP.All")), 400, "AF20022");
      expect((await c.post(url("subscriptions/start"))).status).toBe(200);
      expect((await c.get(url("subscriptions/content"))).status).toBe(200);
    } finally {
      await local.stop();
    }
  });

  it("rejects a missing, unknown or multiple content type", async () => {
    expectError(await api.post(feedUrl(emu, "subscriptions/start")), 400, "AF20001");
    expectError(
      await api.post(feedUrl(emu, "subscriptions/start", { contentType: "Audit.Nothing" })),
      400,
      "AF20020",
    );
    expectError(
      await api.get(content({ contentType: "Audit.General,Audit.Exchange" })),
      400,
      "AF20053",
    );
  });

  it("answers 404 for an unknown path and 405 for a wrong method", async () => {
    expect((await api.get(feedUrl(emu, "subscriptions/nothing"))).status).toBe(404);
    expect(
      (await api.get(feedUrl(emu, "subscriptions/start", { contentType: "Audit.General" }))).status,
    ).toBe(405);
  });
});

describe("content listing rules", () => {
  it("accepts the three documented time formats", async () => {
    for (const [s, e] of [
      ["2026-05-19", "2026-05-20"],
      ["2026-05-19T06:00", "2026-05-19T12:00"],
      ["2026-05-19T06:00:00", "2026-05-19T12:00:00"],
    ]) {
      const res = await api.get(content({ startTime: s, endTime: e }));
      expect(res.status, `${s}..${e}`).toBe(200);
      const items = JSON.parse(res.body) as ContentItem[];
      expect(items.length).toBeGreaterThan(0);
      for (const it of items) {
        expect(Date.parse(it.contentCreated)).toBeGreaterThanOrEqual(
          Date.parse(`${s}Z`.replace(/^(\d{4}-\d\d-\d\d)Z$/, "$1T00:00Z")),
        );
      }
    }
  });

  it("answers AF20055 for every broken window rule", async () => {
    const bad: Record<string, string>[] = [
      { startTime: "2026-05-19T00:00" },
      { endTime: "2026-05-19T00:00" },
      { startTime: "2026-05-18T00:00", endTime: "2026-05-19T00:00:01" },
      { startTime: "2026-05-13T11:59", endTime: "2026-05-14T00:00" },
      { startTime: "2026-05-19T10:00", endTime: "2026-05-19T10:00" },
      { startTime: "2026-05-19T10:00", endTime: "2026-05-19T09:00" },
      { startTime: "2026-05-19T00:00:00Z", endTime: "2026-05-19T10:00:00Z" },
      { startTime: "2026-02-30", endTime: "2026-03-01" },
      { startTime: "yesterday", endTime: "today" },
    ];
    for (const params of bad) {
      const res = await api.get(content(params));
      expect({ params, status: res.status, code: errorCode(res) }).toEqual({
        params,
        status: 400,
        code: "AF20055",
      });
    }
  });

  it("accepts a window of exactly 24 hours whose start is exactly 7 days back", async () => {
    expect(
      (await api.get(content({ startTime: "2026-05-13T12:00", endTime: "2026-05-14T12:00" })))
        .status,
    ).toBe(200);
  });

  it("lists the last 24 hours when both times are omitted", async () => {
    const { items } = await listAll(api.get, content({}));
    expect(items.length).toBeGreaterThan(0);
    for (const it of items) {
      const t = Date.parse(it.contentCreated);
      expect(t).toBeGreaterThanOrEqual(START.getTime() - 86_400_000);
      expect(t).toBeLessThan(START.getTime());
    }
  });

  it("includes the start and excludes the end, on contentCreated", async () => {
    const { items } = await listAll(
      api.get,
      content({ startTime: "2026-05-18T00:00", endTime: "2026-05-18T06:00" }),
    );
    const pivot = items[Math.floor(items.length / 2)];
    const at = pivot.contentCreated.slice(0, 19);
    const from = await listAll(api.get, content({ startTime: at, endTime: "2026-05-18T12:00" }));
    expect(from.items[0].contentId).toBe(pivot.contentId);
    const until = await listAll(api.get, content({ startTime: "2026-05-18T00:00", endTime: at }));
    expect(until.items.map((i) => i.contentId)).not.toContain(pivot.contentId);
    expect(until.items.every((i) => i.contentCreated < pivot.contentCreated)).toBe(true);
  });

  it("describes each blob with a contentUri on this origin and a 7-day expiration", async () => {
    const res = await api.get(
      content({ startTime: "2026-05-19T00:00", endTime: "2026-05-19T06:00" }),
    );
    const [first] = JSON.parse(res.body) as ContentItem[];
    expect(first.contentType).toBe("Audit.General");
    expect(first.contentUri).toBe(
      `${emu.url}/api/v1.0/${emu.tenant.tenantId}/activity/feed/audit/${first.contentId}`,
    );
    expect(Date.parse(first.contentExpiration) - Date.parse(first.contentCreated)).toBe(
      7 * 86_400_000,
    );
  });
});

describe("paging through NextPageUri", () => {
  it("returns every item exactly once, in order, with absolute same-endpoint next links", async () => {
    const window = { startTime: "2026-05-17T00:00", endTime: "2026-05-18T00:00" };
    const paged = await listAll(api.get, content(window));
    expect(paged.pages).toBeGreaterThan(3);
    for (const next of paged.nextUris) {
      const u = new URL(next);
      expect(`${u.origin}${u.pathname}`).toBe(
        `${emu.url}/api/v1.0/${emu.tenant.tenantId}/activity/feed/subscriptions/content`,
      );
      expect(u.searchParams.get("PublisherIdentifier")).toBe(emu.tenant.tenantId);
    }
    const ids = paged.items.map((i) => i.contentId);
    expect(new Set(ids).size).toBe(ids.length);
    const sorted = [...paged.items].sort(
      (a, b) =>
        a.contentCreated.localeCompare(b.contentCreated) || a.contentId.localeCompare(b.contentId),
    );
    expect(paged.items).toEqual(sorted);

    // The same tenant with one big page lists exactly the same blobs.
    const single = await startEmulator({
      seed: "api",
      startTime: START,
      pageSize: 10_000,
      tenant: SMALL,
    });
    try {
      const c = await apiClient(single);
      await c.post(feedUrl(single, "subscriptions/start", { contentType: "Audit.General" }));
      const whole = await listAll(c.get, content(window, single));
      expect(whole.pages).toBe(1);
      expect(whole.items.map((i) => i.contentId)).toEqual(ids);
    } finally {
      await single.stop();
    }
  });

  it("says how many blobs and pages a complete listing holds (listable)", async () => {
    const window = { startTime: "2026-05-17T00:00", endTime: "2026-05-18T00:00" };
    const paged = await listAll(api.get, content(window));
    expect(
      emu.listable(
        "Audit.General",
        new Date("2026-05-17T00:00:00Z"),
        new Date("2026-05-18T00:00:00Z"),
      ),
    ).toEqual({ blobs: paged.items.length, pages: paged.pages });
    const empty = new Date("2026-05-20T11:59:00Z");
    expect(emu.listable("Audit.General", empty, new Date(empty.getTime() + 1000))).toEqual({
      blobs: 0,
      pages: 1,
    });
  });

  it("lists in-process exactly what the API lists (listed), without a request or a fault", async () => {
    const faulty = await startEmulator({
      seed: "api",
      startTime: START,
      pageSize: 25,
      tenant: SMALL,
      // Every request would be answered 5xx: only a listing that sends none can succeed.
      faults: { serverErrorRate: 1 },
    });
    try {
      const window = { startTime: "2026-05-17T00:00", endTime: "2026-05-18T00:00" };
      const paged = await listAll(api.get, content(window));
      const before = faulty.stats().requests;
      const listed = faulty.listed(
        "Audit.General",
        new Date("2026-05-17T00:00:00Z"),
        new Date("2026-05-18T00:00:00Z"),
      );
      expect(faulty.stats().requests).toBe(before);
      // Same tenant, same seed: the same items, field by field but for the host in the URIs.
      const withoutHost = (items: ContentItem[]) =>
        items.map((i) => ({ ...i, contentUri: new URL(i.contentUri).pathname }));
      expect(withoutHost(listed)).toEqual(withoutHost(paged.items));
      expect(listed.length).toBeGreaterThan(25);
    } finally {
      await faulty.stop();
    }
  });

  it("answers AF20031 for a damaged page token", async () => {
    expectError(await api.get(content({ nextPage: "not-a-token" })), 400, "AF20031");
  });
});

describe("blob retrieval", () => {
  it("serves a JSON array of records whose CreationTime has no zone suffix", async () => {
    const [item] = JSON.parse(
      (await api.get(content({ startTime: "2026-05-19T09:00", endTime: "2026-05-19T12:00" }))).body,
    ) as ContentItem[];
    const res = await api.get(`${item.contentUri}?PublisherIdentifier=${emu.tenant.tenantId}`);
    expect(res.status).toBe(200);
    const records = JSON.parse(res.body) as { Id: string; CreationTime: string }[];
    expect(records.length).toBeGreaterThan(0);
    for (const r of records) expect(r.CreationTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
  });

  it("answers AF20052 for an unknown content id and for expired content", async () => {
    const local = await startEmulator({
      seed: "expiry",
      startTime: START,
      tenant: { days: 2, futureDays: 0, launchesPerDay: 30 },
    });
    try {
      const c = await apiClient(local);
      await c.post(feedUrl(local, "subscriptions/start", { contentType: "Audit.General" }));
      expectError(await c.get(feedUrl(local, "audit/20260101000000000$nothing")), 400, "AF20052");
      expectError(await c.get(feedUrl(local, "audit/%E0%A4%A")), 400, "AF20052");
      const [item] = JSON.parse(
        (await c.get(feedUrl(local, "subscriptions/content", { contentType: "Audit.General" })))
          .body,
      ) as ContentItem[];
      expect((await c.get(item.contentUri)).status).toBe(200);
      local.clock.set(new Date(Date.parse(item.contentExpiration) - 1000));
      expect((await c.get(item.contentUri)).status).toBe(200);
      local.clock.advance(1000);
      expectError(await c.get(item.contentUri), 400, "AF20052");
    } finally {
      await local.stop();
    }
  });
});

describe("availability over time", () => {
  it("lists late blobs only once the clock reaches them, with a contentCreated already in the past", async () => {
    const late = await startEmulator({
      seed: "late",
      startTime: START,
      tenant: { days: 1, futureDays: 1, launchesPerDay: 100 },
      content: { lateListingShare: 1, lateListingMinutes: [60, 60] },
    });
    try {
      const c = await apiClient(late);
      await c.post(feedUrl(late, "subscriptions/start", { contentType: "Audit.General" }));
      const window = {
        contentType: "Audit.General",
        startTime: "2026-05-20T10:00",
        endTime: "2026-05-20T14:00",
      };
      const before = await listAll(c.get, feedUrl(late, "subscriptions/content", window));
      expect(
        before.items.every((i) => Date.parse(i.contentCreated) <= START.getTime() - 3_600_000),
      ).toBe(true);
      late.clock.advance(3_600_000);
      const after = await listAll(c.get, feedUrl(late, "subscriptions/content", window));
      const newcomers = after.items.filter(
        (i) => !before.items.some((b) => b.contentId === i.contentId),
      );
      expect(newcomers.length).toBeGreaterThan(0);
      for (const i of newcomers)
        expect(Date.parse(i.contentCreated)).toBeLessThan(late.clock.now().getTime() - 3_500_000);
      // Nothing in the future is listed, however far the window reaches.
      expect(
        after.items.every((i) => Date.parse(i.contentCreated) <= late.clock.now().getTime()),
      ).toBe(true);
    } finally {
      await late.stop();
    }
  });

  it("with history sinceSubscription, lists nothing created before the first start", async () => {
    const fresh = await startEmulator({
      seed: "fresh",
      startTime: START,
      tenant: { days: 2, futureDays: 1, launchesPerDay: 50 },
      content: { history: "sinceSubscription" },
    });
    try {
      const c = await apiClient(fresh);
      await c.post(feedUrl(fresh, "subscriptions/start", { contentType: "Audit.General" }));
      const url = feedUrl(fresh, "subscriptions/content", {
        contentType: "Audit.General",
        startTime: "2026-05-20T00:00",
        endTime: "2026-05-21T00:00",
      });
      expect((await listAll(c.get, url)).items).toEqual([]);
      fresh.clock.advance(3 * 3_600_000);
      const later = await listAll(c.get, url);
      expect(later.items.length).toBeGreaterThan(0);
      expect(later.items.every((i) => Date.parse(i.contentCreated) >= START.getTime())).toBe(true);
    } finally {
      await fresh.stop();
    }
  });
});
