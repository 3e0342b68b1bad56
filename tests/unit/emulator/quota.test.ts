import { describe, expect, it } from "vitest";
import { Quota } from "../../../emulator/quota";
import { apiClient, errorCode, feedUrl, withTinyEmulator } from "./helpers";

describe("quota per PublisherIdentifier", () => {
  it("throttles the call after quotaPerMinute with 403 AF429 and Retry-After, per publisher", async () => {
    await withTinyEmulator(
      { quotaPerMinute: 5, sharedQuotaPerMinute: 2, throttleStatus: 403 },
      async (emu) => {
        const c = await apiClient(emu);
        const list = (publisher?: string) => {
          const url = new URL(feedUrl(emu, "subscriptions/list", {}, false));
          if (publisher) url.searchParams.set("PublisherIdentifier", publisher);
          return c.get(url.toString());
        };
        for (let i = 0; i < 5; i++) expect((await list(emu.tenant.tenantId)).status).toBe(200);
        const throttled = await list(emu.tenant.tenantId);
        expect(throttled.status).toBe(403);
        expect(errorCode(throttled)).toBe("AF429");
        const retryAfter = Number(throttled.headers["retry-after"]);
        expect(retryAfter).toBeGreaterThanOrEqual(55);
        expect(retryAfter).toBeLessThanOrEqual(60);
        // The publisher id is matched case-insensitively, another publisher has its own quota.
        expect((await list(emu.tenant.tenantId.toUpperCase())).status).toBe(403);
        expect((await list("55555555-5555-5555-5555-555555555555")).status).toBe(200);
        // Calls without a PublisherIdentifier share a separate, smaller quota.
        expect((await list()).status).toBe(200);
        expect((await list()).status).toBe(200);
        const shared = await list();
        expect(shared.status).toBe(403);
        expect(JSON.parse(shared.body).error.message).toContain(
          "00000000-0000-0000-0000-000000000000",
        );
        expect(emu.stats().throttled).toBe(3);
      },
    );
  });

  it("answers 429 when configured so, both statuses when mixed, and no Retry-After when disabled", async () => {
    await withTinyEmulator(
      { quotaPerMinute: 1, throttleStatus: 429, retryAfter: false },
      async (emu) => {
        const c = await apiClient(emu);
        await c.get(feedUrl(emu, "subscriptions/list"));
        const res = await c.get(feedUrl(emu, "subscriptions/list"));
        expect(res.status).toBe(429);
        expect(errorCode(res)).toBe("AF429");
        expect(res.headers["retry-after"]).toBeUndefined();
      },
    );
    await withTinyEmulator({ quotaPerMinute: 1, throttleStatus: "mixed" }, async (emu) => {
      const c = await apiClient(emu);
      const statuses = new Set<number>();
      for (let i = 0; i < 21; i++)
        statuses.add((await c.get(feedUrl(emu, "subscriptions/list"))).status);
      expect([...statuses].sort()).toEqual([200, 403, 429]);
    });
  });

  it("frees capacity exactly one minute after each accepted call (sliding window)", () => {
    const q = new Quota(3, 1);
    expect([q.take("p", 0), q.take("p", 10_000), q.take("p", 20_000)]).toEqual([0, 0, 0]);
    expect(q.take("p", 30_000)).toBe(30_000);
    expect(q.take("p", 59_999)).toBe(1);
    expect(q.take("p", 60_000)).toBe(0);
    expect(q.take("p", 60_001)).toBe(9_999);
    expect([q.take(undefined, 0), q.take(undefined, 1)]).toEqual([0, 59_999]);
  });
});
