import type { Response } from "node-fetch";
import type { TokenProvider } from "./auth";
import { bearerCall } from "./bearer-call";
import { AF, ApiError, BadContentError, ForeignUriError, ListingCutError } from "../core/errors";
import { redactUrl } from "./http/api-errors";
import { bodyError, readJson, type HttpClient } from "./http/client";
import { formatApiTime } from "../domain/windows";
import type { ContentItem, Subscription } from "../domain/content";
import { forEachArrayItem, MalformedArrayError } from "./json-array-stream";

export interface ActivityApiOptions {
  audience: string;
  tenantId: string;
  publisherId: string;
  http: HttpClient;
  tokens: TokenProvider;
}

/** Every operation can be abandoned: SIGTERM interrupts a request, a backoff or a token wait. */
export interface OperationOptions {
  signal?: AbortSignal;
}

/** Listing pages are followed at most this many times per window: a loop guard, never reached. */
const MAX_PAGES = 10_000;

/**
 * The Office 365 Management Activity API: subscriptions, content listing (all pages) and content
 * retrieval. Every call carries PublisherIdentifier and a bearer token; a 401 renews the token
 * once; each operation is retried as a whole under the HTTP client's retry policy.
 */
export class ActivityApi {
  private readonly base: string;
  private readonly origin: string;
  constructor(private readonly options: ActivityApiOptions) {
    this.base = `${options.audience}/api/v1.0/${options.tenantId}/activity/feed`;
    this.origin = new URL(options.audience).origin;
  }

  /** Starts a subscription; "already-enabled" when the API says AF20024 (that is success). */
  async startSubscription(
    contentType: string,
    options: OperationOptions = {},
  ): Promise<"started" | "already-enabled"> {
    const url = this.url("subscriptions/start", { contentType });
    try {
      await this.call(
        "subscriptions/start",
        url,
        "POST",
        options,
        async (r) => void (await r.text()),
      );
      return "started";
    } catch (err) {
      if (err instanceof ApiError && err.code === AF.alreadyEnabled) return "already-enabled";
      throw err;
    }
  }

  async stopSubscription(contentType: string, options: OperationOptions = {}): Promise<void> {
    const url = this.url("subscriptions/stop", { contentType });
    await this.call("subscriptions/stop", url, "POST", options, async (r) => void (await r.text()));
  }

  async listSubscriptions(options: OperationOptions = {}): Promise<Subscription[]> {
    const url = this.url("subscriptions/list", {});
    return this.call("subscriptions/list", url, "GET", options, async (r) => {
      const body = await readJson(r, url);
      if (!Array.isArray(body)) throw unexpected(url, "an array of subscriptions");
      return body as Subscription[];
    });
  }

  /**
   * Lists content created in [from, to) (at most 24 h, not older than 7 days), one page at a time,
   * following NextPageUri (or NextPageUrl) until it is absent.
   */
  async *listContent(
    contentType: string,
    from: Date,
    to: Date,
    options: OperationOptions = {},
  ): AsyncGenerator<ContentItem[]> {
    let url: string | undefined = this.url("subscriptions/content", {
      contentType,
      startTime: formatApiTime(from),
      endTime: formatApiTime(to),
    });
    const seen = new Set<string>();
    for (let page = 0; url; page++) {
      if (seen.has(url))
        throw new ListingCutError(contentType, url, "repeats a page already listed", page);
      if (page >= MAX_PAGES)
        throw new ListingCutError(contentType, url, `goes on past ${MAX_PAGES} pages`, page);
      seen.add(url);
      const current: string = url;
      const { items, next } = await this.call(
        "subscriptions/content",
        current,
        "GET",
        options,
        async (r) => {
          const next = r.headers.get("NextPageUri") ?? r.headers.get("NextPageUrl") ?? undefined;
          const body = await readJson(r, current);
          if (!Array.isArray(body)) throw unexpected(current, "an array of content items");
          return { items: body as ContentItem[], next };
        },
      );
      yield items;
      // An empty header is the same as none: the listing ends.
      url = next?.trim() ? this.nextPage(contentType, next.trim(), page + 1) : undefined;
    }
  }

  /** A NextPageUri as a URL to follow, or the reason the listing ends here (ListingCutError). */
  private nextPage(contentType: string, next: string, pages: number): string {
    try {
      return this.withPublisher(next, "NextPageUri");
    } catch (err) {
      if (!(err instanceof ForeignUriError)) throw err;
      throw new ListingCutError(contentType, next, err.why, pages, { cause: err });
    }
  }

  /**
   * Streams a content blob's records (and the records as served, as NDJSON bytes) into the
   * consumer returned by `begin`. `begin` is called again for each retry, so the consumer can
   * start from scratch after a truncated body.
   */
  async fetchContent(
    contentUri: string,
    begin: () => (records: unknown[], lines: Buffer) => void | Promise<void>,
    options: OperationOptions = {},
  ): Promise<void> {
    const url = this.withPublisher(contentUri, "contentUri");
    await this.call("content", url, "GET", options, async (r) => {
      const onRecords = begin();
      if (!r.body) throw bodyError(url, new Error("empty body"));
      let consumerError: unknown;
      try {
        await forEachArrayItem(r.body as AsyncIterable<Uint8Array>, async (records, lines) => {
          try {
            await onRecords(records, lines);
          } catch (err) {
            consumerError = err;
            throw err;
          }
        });
      } catch (err) {
        // Failures of our own consumer (storage) are not body problems: pass them through.
        if (consumerError !== undefined) throw consumerError;
        if (err instanceof MalformedArrayError) {
          throw new BadContentError(
            redactUrl(url),
            `The content blob at ${redactUrl(url)} is not a JSON array of records (${err.message}).`,
            { cause: err },
          );
        }
        throw bodyError(url, err);
      }
    });
  }

  /**
   * The blob's raw bytes (at most `maxBytes`, a longer body is cut there), for the quarantine:
   * what the API really sent, kept for someone to look at. An error answer's body counts too.
   */
  async fetchRawContent(
    contentUri: string,
    maxBytes: number,
    options: OperationOptions = {},
  ): Promise<{ status: number; bytes: Buffer; truncated: boolean }> {
    const url = this.withPublisher(contentUri, "contentUri");
    const { http, tokens } = this.options;
    return http.retrying(
      "content (raw)",
      async () => {
        const response = await http.send(url, {
          signal: options.signal,
          acceptAnyStatus: true,
          headers: {
            Authorization: `Bearer ${await tokens.getToken({ signal: options.signal })}`,
          },
        });
        const chunks: Buffer[] = [];
        let size = 0;
        let truncated = false;
        try {
          for await (const chunk of response.body as AsyncIterable<Buffer>) {
            chunks.push(chunk);
            size += chunk.length;
            if (size >= maxBytes) {
              truncated = size > maxBytes;
              break;
            }
          }
        } catch (err) {
          throw bodyError(url, err);
        }
        return {
          status: response.status,
          bytes: Buffer.concat(chunks).subarray(0, maxBytes),
          truncated,
        };
      },
      { signal: options.signal },
    );
  }

  private url(path: string, params: Record<string, string>): string {
    const u = new URL(`${this.base}/${path}`);
    for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
    u.searchParams.set("PublisherIdentifier", this.options.publisherId);
    return u.toString();
  }

  /**
   * Checks a URL the API handed us (content and next-page URIs) and adds PublisherIdentifier.
   * The bearer token goes with every call, so a URL is followed only when it is https on the
   * API's own origin (the configured audience): an answer pointing elsewhere, by mistake or by
   * a hostile proxy, is refused before anything is sent there.
   */
  private withPublisher(uri: string, what: "contentUri" | "NextPageUri"): string {
    let u: URL;
    try {
      u = new URL(uri);
    } catch (cause) {
      throw new ForeignUriError(what, uri, "is not a URL", { cause });
    }
    if (u.origin !== this.origin) {
      throw new ForeignUriError(what, uri, `is not on the API's origin ${this.origin}`);
    }
    if (!u.searchParams.has("PublisherIdentifier")) {
      u.searchParams.set("PublisherIdentifier", this.options.publisherId);
    }
    return u.toString();
  }

  /** One operation with the bearer token, its renewal on 401 and retries (bearerCall). */
  private call<T>(
    what: string,
    url: string,
    method: "GET" | "POST",
    { signal }: OperationOptions,
    handle: (response: Response) => Promise<T>,
  ): Promise<T> {
    const { http, tokens } = this.options;
    const body = method === "POST" ? "" : undefined;
    return bearerCall(http, tokens, what, { url, method, body, signal }, handle);
  }
}

function unexpected(url: string, what: string): ApiError {
  return new ApiError({
    status: 200,
    url,
    message: `The answer from ${new URL(url).pathname} is not ${what}. Check AUDIT_AUDIENCE points at the Management Activity API.`,
  });
}
