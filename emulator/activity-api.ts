/**
 * The Office 365 Management Activity API under /api/v1.0/{tenant}/activity/feed/: subscriptions,
 * content listing with NextPageUri paging, and blob retrieval. Authentication, quota and faults
 * are applied by the server before these handlers run.
 */
import {
  hugeRecordText,
  NOT_JSON_BODY,
  notArrayBody,
  type BadInputPlan,
  type InjectedRecord,
} from "./bad-input";
import type { EmulatorClock } from "./clock";
import { afError, json, queryParam, safeDecode, type Reply } from "./http";
import { formatApiTime, listingWindow } from "./listing-rules";
import { CONTENT_TYPES, POWER_APPS_CONTENT_TYPE, type ResolvedOptions } from "./options";
import type { PlannedBlob, Tenant } from "./tenant/generator";
import { noiseRecord, powerAppsRecord } from "./tenant/records";

const DAY = 86_400_000;
const RETENTION_DAYS = 7;

interface Subscription {
  status: "enabled" | "disabled";
  firstStartedMs: number;
}

export interface ApiCounters {
  listings: number;
  blobsServed: number;
  recordsServed: number;
  /** Answers for the bad input corpus's unreadable blobs (their real paths and foreign URIs). */
  badBlobAnswers: number;
}

/** Where foreign URIs live on this server: https://{foreignHost}:PORT/foreign/… */
/** One item of a content listing, as the API serves it. */
export interface ListedContent {
  contentType: string;
  contentId: string;
  contentUri: string;
  contentCreated: string;
  contentExpiration: string;
}

export const FOREIGN_PREFIX = "/foreign";

export class ActivityApi {
  private readonly subscriptions = new Map<string, Subscription>();
  readonly counters: ApiCounters = {
    listings: 0,
    blobsServed: 0,
    recordsServed: 0,
    badBlobAnswers: 0,
  };
  /** https://{foreignHost}:PORT: another host name for this very server. */
  readonly foreignOrigin: string;

  constructor(
    private readonly origin: string,
    private readonly tenant: Tenant,
    private readonly clock: EmulatorClock,
    private readonly options: ResolvedOptions,
    private readonly bad: BadInputPlan,
  ) {
    this.foreignOrigin = `https://${options.badInput.foreignHost}:${new URL(origin).port}`;
  }

  /** `path` is what follows /activity/feed/ ; `url` is the full request URL. */
  handle(method: string, path: string, url: URL): Reply {
    if (path === "subscriptions/start")
      return method === "POST" ? this.start(url) : notAllowed(method);
    if (path === "subscriptions/stop")
      return method === "POST" ? this.stop(url) : notAllowed(method);
    if (path === "subscriptions/list") return method === "GET" ? this.list() : notAllowed(method);
    if (path === "subscriptions/content")
      return method === "GET" ? this.content(url) : notAllowed(method);
    if (path.startsWith("audit/"))
      return method === "GET" ? this.blob(safeDecode(path.slice(6))) : notAllowed(method);
    return notFound(url);
  }

  private contentType(url: URL): { value: string } | { error: Reply } {
    const value = queryParam(url, "contentType");
    if (!value) return { error: afError(400, "AF20001", "Missing parameter: contentType.") };
    if (value.includes(","))
      return {
        error: afError(400, "AF20053", "Only one content type can be specified in the request."),
      };
    const known = CONTENT_TYPES.find((t) => t.toLowerCase() === value.toLowerCase());
    if (!known)
      return {
        error: afError(400, "AF20020", `The specified content type is not valid: ${value}.`),
      };
    return { value: known };
  }

  private start(url: URL): Reply {
    const ct = this.contentType(url);
    if ("error" in ct) return ct.error;
    const existing = this.subscriptions.get(ct.value);
    if (existing?.status === "enabled")
      return afError(400, "AF20024", "The subscription is already enabled. No property change.");
    this.subscriptions.set(ct.value, {
      status: "enabled",
      firstStartedMs: existing?.firstStartedMs ?? this.clock.now().getTime(),
    });
    return json(200, { contentType: ct.value, status: "enabled", webhook: null });
  }

  private stop(url: URL): Reply {
    const ct = this.contentType(url);
    if ("error" in ct) return ct.error;
    const existing = this.subscriptions.get(ct.value);
    if (!existing)
      return afError(400, "AF20022", "No subscription found for the specified content type.");
    existing.status = "disabled";
    return { status: 200, body: "" };
  }

  private list(): Reply {
    const items = CONTENT_TYPES.filter((t) => this.subscriptions.has(t)).map((t) => ({
      contentType: t,
      status: this.subscriptions.get(t)!.status,
      webhook: null,
    }));
    return json(200, items);
  }

  /**
   * How many blobs a complete listing of [startMs, endMs) holds right now, and in how many pages:
   * what a client that lists the interval once needs at the least (benches compare against it).
   */
  listable(contentType: string, startMs: number, endMs: number): { blobs: number; pages: number } {
    const n = this.listedBlobs(contentType, startMs, endMs).length;
    // An empty listing is still one page (a full page says NextPageUri only when more follow).
    return { blobs: n, pages: Math.max(1, Math.ceil(n / this.options.pageSize)) };
  }

  /**
   * The items a complete listing of [startMs, endMs) returns right now, in listing order, read
   * in-process: no request is made, so no injected fault or throttle touches it.
   */
  listed(contentType: string, startMs: number, endMs: number): ListedContent[] {
    return this.listedBlobs(contentType, startMs, endMs).map((b) => this.item(b));
  }

  private listedBlobs(contentType: string, startMs: number, endMs: number): PlannedBlob[] {
    const blobs = this.tenant.blobs.get(contentType) ?? [];
    const sub = this.subscriptions.get(contentType);
    const historyFrom =
      this.options.content.history === "sinceSubscription" && sub ? sub.firstStartedMs : -Infinity;
    const nowMs = this.clock.now().getTime();
    const listed: PlannedBlob[] = [];
    for (let i = lowerBound(blobs, startMs); i < blobs.length && blobs[i].createdMs < endMs; i++) {
      if (blobs[i].listedAtMs <= nowMs && blobs[i].createdMs >= historyFrom) listed.push(blobs[i]);
    }
    return listed;
  }

  private content(url: URL): Reply {
    const ct = this.contentType(url);
    if ("error" in ct) return ct.error;
    const sub = this.subscriptions.get(ct.value);
    if (!sub)
      return afError(400, "AF20022", "No subscription found for the specified content type.");
    if (sub.status === "disabled") return afError(400, "AF20023", "The subscription was disabled.");
    const nowMs = this.clock.now().getTime();

    let startMs: number;
    let endMs: number;
    let after: { createdMs: number; contentId: string } | null = null;
    const nextPage = queryParam(url, "nextPage");
    if (nextPage !== undefined) {
      const token = decodePageToken(nextPage);
      if (!token || token.ct !== ct.value)
        return afError(400, "AF20031", `Invalid nextPage Input: ${nextPage}.`);
      ({ s: startMs, e: endMs } = token);
      after = { createdMs: token.c, contentId: token.i };
    } else {
      const window = listingWindow(
        queryParam(url, "startTime"),
        queryParam(url, "endTime"),
        nowMs,
        RETENTION_DAYS,
      );
      if (!window.ok) return afError(400, "AF20055", window.message);
      ({ startMs, endMs } = window);
    }

    const blobs = this.tenant.blobs.get(ct.value) ?? [];
    const historyFrom =
      this.options.content.history === "sinceSubscription" ? sub.firstStartedMs : -Infinity;
    const page: PlannedBlob[] = [];
    let more = false;
    for (let i = lowerBound(blobs, startMs); i < blobs.length && blobs[i].createdMs < endMs; i++) {
      const b = blobs[i];
      if (b.listedAtMs > nowMs || b.createdMs < historyFrom) continue;
      if (
        after &&
        (b.createdMs < after.createdMs ||
          (b.createdMs === after.createdMs && b.contentId <= after.contentId))
      )
        continue;
      if (page.length === this.options.pageSize) {
        more = true;
        break;
      }
      page.push(b);
    }
    this.counters.listings++;
    const headers: Record<string, string> = {};
    const publisher = queryParam(url, "PublisherIdentifier");
    const last = page[page.length - 1];
    const token = () =>
      encodePageToken({
        ct: ct.value,
        s: startMs,
        e: endMs,
        c: last?.createdMs ?? endMs,
        i: last?.contentId ?? "",
      });
    const listing = (origin: string, nextPageToken?: string) =>
      this.listingUrl(origin, ct.value, startMs, endMs, publisher, nextPageToken);
    if (more) headers.NextPageUri = listing(this.origin, token());
    else if (ct.value === POWER_APPS_CONTENT_TYPE && this.bad.options.finalNextPageUri) {
      // The bad input corpus: the last page says something instead of nothing.
      headers.NextPageUri = {
        empty: () => "",
        notAUrl: () => "not a url",
        sameListing: () => listing(this.origin),
        foreignHost: () => listing(`${this.foreignOrigin}${FOREIGN_PREFIX}`, token()),
      }[this.bad.options.finalNextPageUri]();
    }
    return json(
      200,
      page.map((b) => this.item(b)),
      headers,
    );
  }

  private listingUrl(
    origin: string,
    contentType: string,
    startMs: number,
    endMs: number,
    publisher: string | undefined,
    nextPage?: string,
  ): string {
    const next = new URL(
      `${origin}/api/v1.0/${this.tenant.tenantId}/activity/feed/subscriptions/content`,
    );
    next.searchParams.set("contentType", contentType);
    next.searchParams.set("startTime", formatApiTime(startMs));
    next.searchParams.set("endTime", formatApiTime(endMs));
    if (publisher) next.searchParams.set("PublisherIdentifier", publisher);
    if (nextPage !== undefined) next.searchParams.set("nextPage", nextPage);
    return next.toString();
  }

  /** The blob's contentUri as listings give it: on the foreign host for "foreignContentUri". */
  contentUri(b: PlannedBlob): string {
    const origin =
      this.bad.badBlobs.get(b.contentId) === "foreignContentUri"
        ? `${this.foreignOrigin}${FOREIGN_PREFIX}`
        : this.origin;
    return `${origin}/api/v1.0/${this.tenant.tenantId}/activity/feed/audit/${b.contentId}`;
  }

  /**
   * A request that reached this server through a foreign URI (another host name, path prefix
   * /foreign/). It answers what a stranger's host might: 200 with an empty list. The server has
   * already recorded the request.
   */
  foreign(path: string): Reply {
    const m = /^\/api\/v1\.0\/[^/]+\/activity\/feed\/audit\/(.+)$/.exec(path);
    const contentId = m ? safeDecode(m[1]) : undefined;
    if (contentId && this.bad.badBlobs.has(contentId)) this.countBad(contentId);
    return json(200, []);
  }

  private countBad(contentId: string): void {
    this.counters.badBlobAnswers++;
    this.bad.requests.set(contentId, (this.bad.requests.get(contentId) ?? 0) + 1);
  }

  private item(b: PlannedBlob): ListedContent {
    return {
      contentType: b.contentType,
      contentId: b.contentId,
      contentUri: this.contentUri(b),
      contentCreated: new Date(b.createdMs).toISOString(),
      contentExpiration: new Date(b.createdMs + RETENTION_DAYS * DAY).toISOString(),
    };
  }

  private blob(contentId: string): Reply {
    const b = this.tenant.blobsById.get(contentId);
    const nowMs = this.clock.now().getTime();
    // Unknown, not yet listed and expired content all answer the same way.
    if (!b || b.listedAtMs > nowMs || nowMs >= b.createdMs + RETENTION_DAYS * DAY)
      return afError(400, "AF20052", `Content ID ${contentId} in the URL is invalid.`);
    const bad = this.bad.badBlobs.get(contentId);
    if (bad) {
      this.countBad(contentId);
      const o = this.bad.options;
      switch (bad) {
        case "notJson":
          return {
            status: 200,
            headers: { "Content-Type": "application/json; charset=utf-8" },
            body: NOT_JSON_BODY,
          };
        case "notArray":
          return {
            status: 200,
            headers: { "Content-Type": "application/json; charset=utf-8" },
            body: notArrayBody(contentId),
          };
        case "unknownError":
          return afError(
            o.unknownErrorStatus,
            o.unknownErrorCode,
            `The content ${contentId} could not be served.`,
          );
        case "foreignContentUri":
        // Only its (foreign) contentUri was ever handed out; this path is not it.
        case "expired":
          return afError(400, "AF20052", `Content ID ${contentId} in the URL is invalid.`);
      }
    }
    const injected = this.bad.injected.get(contentId) ?? [];
    this.counters.blobsServed++;
    this.counters.recordsServed += b.events.length + b.noiseCount + injected.length;
    return {
      status: 200,
      headers: { "Content-Type": "application/json; charset=utf-8" },
      body: this.bodyOf(contentId, () =>
        blobChunks(b, this.tenant, this.options.seed, injected, this.bad.huge.get(contentId)),
      ),
    };
  }

  private readonly bodies = new Map<string, string[]>();

  /** The blob's chunks, generated on demand; with `cacheBodies`, generated once and kept. */
  private bodyOf(contentId: string, generate: () => Iterable<string>): Iterable<string> {
    if (!this.options.cacheBodies) return generate();
    let chunks = this.bodies.get(contentId);
    if (!chunks) this.bodies.set(contentId, (chunks = [...generate()]));
    return chunks;
  }
}

/**
 * A blob's JSON array, produced in ~64 KB chunks: records injected by the bad input corpus first,
 * then tenant events spread evenly among noise records generated on the fly, so a 40 MB blob
 * never exists as one string. Huge records are padded piece by piece.
 */
function* blobChunks(
  b: PlannedBlob,
  tenant: Tenant,
  seed: string,
  injected: readonly InjectedRecord[] = [],
  huge?: ReadonlyMap<string, number>,
): Generator<string> {
  const total = b.events.length + b.noiseCount;
  const positions = new Map<number, number>();
  b.events.forEach((_, i) => positions.set(Math.floor(((i + 0.5) * total) / b.events.length), i));
  let chunk = "[";
  let written = 0;
  const separator = () => (written++ > 0 ? "," : "");
  for (const r of injected) chunk += separator() + JSON.stringify(r.record);
  let noiseIndex = 0;
  for (let pos = 0; pos < total; pos++) {
    const ei = positions.get(pos);
    const padded = ei !== undefined ? huge?.get(b.events[ei].id) : undefined;
    if (padded !== undefined) {
      chunk += separator();
      for (const piece of hugeRecordText(b.events[ei!], seed, padded)) {
        chunk += piece;
        if (chunk.length >= 65_536) {
          yield chunk;
          chunk = "";
        }
      }
      continue;
    }
    const record =
      ei !== undefined
        ? powerAppsRecord(b.events[ei], seed)
        : noiseRecord(
            seed,
            b.contentType,
            b.contentId,
            noiseIndex++,
            b.createdMs,
            tenant.tenantId,
            tenant.domain,
          );
    chunk += separator() + JSON.stringify(record);
    if (chunk.length >= 65_536) {
      yield chunk;
      chunk = "";
    }
  }
  yield `${chunk}]`;
}

interface PageToken {
  ct: string;
  s: number;
  e: number;
  c: number;
  i: string;
}

function encodePageToken(t: PageToken): string {
  return Buffer.from(JSON.stringify(t)).toString("base64url");
}

function decodePageToken(text: string): PageToken | null {
  try {
    const t = JSON.parse(Buffer.from(text, "base64url").toString("utf8")) as PageToken;
    if (
      typeof t.ct === "string" &&
      typeof t.s === "number" &&
      typeof t.e === "number" &&
      typeof t.c === "number" &&
      typeof t.i === "string"
    )
      return t;
  } catch {
    // Falls through: an unreadable token is invalid input.
  }
  return null;
}

function lowerBound(blobs: PlannedBlob[], ms: number): number {
  let lo = 0;
  let hi = blobs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (blobs[mid].createdMs < ms) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function notAllowed(method: string): Reply {
  return afError(
    405,
    "MethodNotAllowed",
    `The requested resource does not support http method '${method}'.`,
  );
}

export function notFound(url: URL): Reply {
  return afError(
    404,
    "NotFound",
    `No HTTP resource was found that matches the request URI '${url.pathname}'.`,
  );
}
