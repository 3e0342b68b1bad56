import { afterEach, describe, expect, it, vi } from "vitest";
import { HttpClient, type SendOptions } from "../../../sync-runtime/src/clients/http/client";
import { comparable, DAY, startTestEnv, type TestEnv } from "./harness";

/**
 * The bearer token goes with every API call, so it must only ever go to the API. The emulator
 * hands out URIs on another host name of itself (localhost instead of 127.0.0.1) and records
 * every request that reaches them: an empty list proves no token left.
 */
describe("tokens only to the API's origin", () => {
  const start = new Date("2026-06-10T00:00:00Z");
  let t: TestEnv | undefined;
  afterEach(async () => {
    await t?.stop();
    t = undefined;
  });
  const tenant = { days: 1, futureDays: 0, apps: 4, users: 6, launchesPerDay: 80, deletes: 0 };
  const content = { blobIntervalMinutes: 60, lateAvailabilityShare: 0, lateListingShare: 0 };

  it("refuses a contentUri off the API's origin, records the blob as lost and syncs the rest", async () => {
    t = await startTestEnv({
      seed: "foreign-content",
      startTime: start,
      tenant,
      content,
      badInput: { blobs: ["foreignContentUri"] },
    });
    const runtime = t.runtime();
    const [result] = await runtime.sync();
    const [bad] = t.emulator.badInput().blobs;
    expect(t.emulator.foreignRequests()).toEqual([]);
    expect(result.blobsRefused).toBe(1);
    expect(
      runtime.metrics.get("audit_blobs_refused_total", { content_type: "Audit.General" }),
    ).toBe(1);
    expect(await runtime.store.gaps.list()).toEqual([
      expect.objectContaining({ contentId: bad.contentId, reason: "refused" }),
    ]);
    // Every other blob is stored: the report is the truth without the refused blob's records.
    const window = { from: new Date(start.getTime() - DAY), to: start };
    expect(comparable(await runtime.report(window))).toEqual(
      comparable(t.emulator.groundTruth(window, { asOf: start, daily: true })),
    );
    expect(t.logs.join("\n")).toContain("content refused: its contentUri is not on the API");
  });

  it("ends a listing at an empty NextPageUri", async () => {
    t = await startTestEnv({
      seed: "empty-next",
      startTime: start,
      tenant,
      content,
      pageSize: 5,
      badInput: { finalNextPageUri: "empty" },
    });
    const runtime = t.runtime();
    const [result] = await runtime.sync();
    expect(result.blobsProcessed).toBeGreaterThan(5);
    const window = { from: new Date(start.getTime() - DAY), to: start };
    expect(comparable(await runtime.report(window))).toEqual(
      comparable(t.emulator.groundTruth(window, { asOf: start, daily: true })),
    );
  });

  it.each([
    ["foreignHost", "is not on the API's origin"],
    ["notAUrl", "is not a URL"],
    ["sameListing", "repeats a page already listed"],
  ] as const)(
    "ends a listing at an absurd NextPageUri (%s) without following it, records the window and syncs what was listed",
    async (kind, why) => {
      t = await startTestEnv({
        seed: `absurd-${kind}`,
        startTime: start,
        tenant,
        content,
        pageSize: 5,
        badInput: { finalNextPageUri: kind },
      });
      const runtime = t.runtime();
      const [result] = await runtime.sync();
      expect(t.emulator.foreignRequests()).toEqual([]);
      // The emulator puts it on the last page of each listing: nothing was left to list, so the
      // report is the whole truth, and every window is on record as cut.
      expect(result.windows).toBeGreaterThan(0);
      expect(result.listingsCut).toBe(result.windows);
      expect(
        runtime.metrics.get("audit_listings_cut_total", { content_type: "Audit.General" }),
      ).toBe(result.windows);
      expect(result.checkpoint).toBe(result.to);
      const window = { from: new Date(start.getTime() - DAY), to: start };
      expect(comparable(await runtime.report(window))).toEqual(
        comparable(t.emulator.groundTruth(window, { asOf: start, daily: true })),
      );
      const gaps = await runtime.store.gaps.list();
      expect(gaps).toHaveLength(result.windows);
      for (const g of gaps) {
        expect(g).toMatchObject({ contentType: "Audit.General", reason: "listingCut" });
        expect("detail" in g && g.detail).toContain(why);
      }
      const kept: string[] = [];
      for await (const b of runtime.storage.quarantine.listBlobsFlat({ prefix: "listings/" }))
        kept.push(b.name);
      expect(kept).toHaveLength(result.windows);
      const answer = JSON.parse(
        (await runtime.storage.quarantine.getBlobClient(kept[0]).downloadToBuffer()).toString(
          "utf8",
        ),
      );
      expect(answer).toMatchObject({
        contentType: "Audit.General",
        why: expect.stringContaining(why),
      });
      expect(answer.pages).toBeGreaterThan(0);
      expect(t.logs.join("\n")).toContain("content listing cut short");
    },
  );
});

/**
 * What goes where, recorded at the runtime's one HTTP client during a pass in which the tokens
 * are revoked (so a renewal happens too): the client secret only to the authority's token
 * endpoint, the bearer token only to the API's feed under the configured audience, and nothing
 * to any other address (no instance discovery, no metadata from elsewhere).
 */
describe("the secret only to the authority, the token only to the API", () => {
  afterEach(() => vi.restoreAllMocks());

  it("records every request of a pass with a token renewal: each goes where it belongs", async () => {
    const start = new Date("2026-06-10T00:00:00Z");
    const t = await startTestEnv({
      seed: "who-gets-what",
      startTime: start,
      tenant: { days: 1, futureDays: 0, apps: 3, users: 4, launchesPerDay: 40, deletes: 0 },
      content: { blobIntervalMinutes: 120, lateAvailabilityShare: 0, lateListingShare: 0 },
      faults: { revokeTokensAtRequests: [6] },
    });
    try {
      const sent: { url: string; bearer: boolean; body: string }[] = [];
      const send = HttpClient.prototype.send;
      vi.spyOn(HttpClient.prototype, "send").mockImplementation(function (
        this: HttpClient,
        url: string,
        options: SendOptions = {},
      ) {
        const auth = Object.entries(options.headers ?? {}).find(
          ([k]) => k.toLowerCase() === "authorization",
        );
        sent.push({ url, bearer: /^Bearer /i.test(auth?.[1] ?? ""), body: options.body ?? "" });
        return send.call(this, url, options);
      });
      await t.runtime().sync();

      const {
        AUDIT_AUTHORITY: authority,
        AUDIT_AUDIENCE: audience,
        AUDIT_TENANT_ID: tenant,
      } = t.env;
      const secret = t.env.AUDIT_CLIENT_SECRET;
      const tokenEndpoint = `${authority}/${tenant}/`;
      const feed = `${audience}/api/v1.0/${tenant}/activity/feed/`;
      expect(sent.filter((r) => r.body.includes(secret)).length).toBeGreaterThanOrEqual(2);
      for (const r of sent) {
        expect(r.url.startsWith(tokenEndpoint) || r.url.startsWith(feed), r.url).toBe(true);
        if (r.bearer) expect(r.url.startsWith(feed), r.url).toBe(true);
        if (r.body.includes(secret)) {
          expect(r.url.startsWith(tokenEndpoint), r.url).toBe(true);
          expect(r.bearer).toBe(false);
        }
        for (const token of t.emulator.issuedTokens()) expect(r.body).not.toContain(token);
      }
      expect(sent.filter((r) => r.bearer).length).toBeGreaterThan(5);
    } finally {
      await t.stop();
    }
  });
});
