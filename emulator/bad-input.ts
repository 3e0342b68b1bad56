/**
 * The bad input corpus (BadInputOptions): which Audit.General blobs are unreadable and why, which
 * malformed or unknown records are injected where, which launches are padded into huge records,
 * and what all of it changes for a correct client: records only held by unreadable blobs are
 * lost, so the ground truth is computed over the countable events this plan returns. Pure and
 * deterministic by seed; the activity API serves what it describes.
 */
import type {
  BadBlobReason,
  BadRecordKind,
  FinalNextPageUriKind,
  ResolvedBadInput,
} from "./options";
import { POWER_APPS_CONTENT_TYPE } from "./options";
import { Random } from "./random";
import type { PlannedBlob, Tenant, TenantEvent } from "./tenant/generator";
import { powerAppsRecord, type AuditRecord } from "./tenant/records";

const HOUR = 3_600_000;
const DESCRIPTION = "powerplatform.analytics.resource.power_app.description";

export interface InjectedRecord {
  kind: BadRecordKind;
  record: AuditRecord;
  /** "unparsed": malformed, a correct client counts nothing from it; "noise": not a launch. */
  expected: "unparsed" | "noise";
  reason: string;
  recordId: string | null;
  /** ISO time when CreationTime is readable, else null (the record belongs to no window). */
  creationTime: string | null;
  appId: string | null;
}

/** A whole blob a correct client cannot read, with what it held. */
export interface BadBlobInfo {
  contentId: string;
  /** The contentUri the listing gives (on the foreign host for "foreignContentUri"). */
  contentUri: string;
  contentCreated: string;
  /** When the blob first shows up in listings. */
  listedAt: string;
  reason: BadBlobReason;
  /** What the emulator answers for it, on every attempt. */
  answer: string;
  /** Ids of the Power Apps launch/delete records it holds (unparsed launches included). */
  recordIds: string[];
  /** Those no readable blob holds: lost to a correct client, left out of groundTruth(). */
  lostRecordIds: string[];
  /** Lost launches and deletes with an app id, and lost launches without one. */
  lostLaunches: number;
  lostDeletes: number;
  lostUnparsed: number;
  /** Requests answered for it so far (its real path, plus its foreign URI for "foreignContentUri"). */
  requests: number;
}

export interface InjectedRecordInfo {
  contentId: string;
  kind: BadRecordKind;
  expected: "unparsed" | "noise";
  reason: string;
  /** The record's Id when it is a string, else null. */
  recordId: string | null;
  /** ISO time when its CreationTime is readable, else null. */
  creationTime: string | null;
  /** The app the record names (it is never counted for it). */
  appId: string | null;
  listedAt: string;
}

export interface HugeRecordInfo {
  contentId: string;
  recordId: string;
  appId: string;
  creationTime: string;
  /** Size of the record's JSON, bytes (= hugeRecordBytes). */
  bytes: number;
  listedAt: string;
}

/** What emu.badInput() returns: every injection, with the facts a test checks a client against. */
export interface BadInputReport {
  /** The window the injections were placed in (on contentCreated). */
  from: string;
  to: string;
  blobs: BadBlobInfo[];
  records: InjectedRecordInfo[];
  hugeRecords: HugeRecordInfo[];
  finalNextPageUri: FinalNextPageUriKind | null;
  /** Origin of foreign URIs (https://{foreignHost}:PORT, path prefix /foreign/), or null if none are served. */
  foreignOrigin: string | null;
}

export interface BadInputPlan {
  options: ResolvedBadInput;
  fromMs: number;
  toMs: number;
  /** contentId → why the blob is unreadable. */
  badBlobs: Map<string, BadBlobReason>;
  /** contentId → records served first in that blob. */
  injected: Map<string, InjectedRecord[]>;
  /** contentId → (record Id → JSON size) of the launches padded there. */
  huge: Map<string, Map<string, number>>;
  /** The tenant's events a correct client can count, firstListedAtMs taken over readable blobs. */
  countableEvents: TenantEvent[];
  /** Requests answered per bad blob. */
  requests: Map<string, number>;
  /** Whether foreign URIs are handed out (foreign contentUri or NextPageUri). */
  usesForeignHost: boolean;
  /** The facts of every injection, with the URIs as served and the live request counts. */
  report(foreignOrigin: string, contentUri: (b: PlannedBlob) => string): BadInputReport;
}

/** Plans the corpus over the tenant's blobs; throws when the window has too few blobs for it. */
export function planBadInput(
  seed: string,
  tenant: Tenant,
  anchorMs: number,
  options: ResolvedBadInput,
): BadInputPlan {
  const rng = new Random(seed, "bad-input");
  const anchor = Math.floor(anchorMs / 1000) * 1000;
  const fromMs = options.from?.getTime() ?? anchor - 24 * HOUR;
  const toMs = options.to?.getTime() ?? anchor;
  const general = tenant.blobs.get(POWER_APPS_CONTENT_TYPE) ?? [];

  const holders = new Map<TenantEvent, PlannedBlob[]>();
  for (const b of general)
    for (const e of b.events) {
      const list = holders.get(e);
      if (list) list.push(b);
      else holders.set(e, [b]);
    }
  const onlyHere = (e: TenantEvent) => holders.get(e)?.length === 1;
  const parsedLaunch = (e: TenantEvent) => e.operation === "LaunchPowerApp" && e.appId !== null;

  const candidates = general.filter((b) => b.createdMs >= fromMs && b.createdMs < toMs);
  const window = `[${new Date(fromMs).toISOString()}, ${new Date(toMs).toISOString()})`;
  const problems: string[] = [];

  // Unreadable blobs: preferably ones holding a launch no other blob holds, so the loss shows.
  const tiers = [
    candidates.filter((b) => b.events.some((e) => parsedLaunch(e) && onlyHere(e))),
    candidates.filter(
      (b) => b.events.length > 0 && !b.events.some((e) => parsedLaunch(e) && onlyHere(e)),
    ),
    candidates.filter((b) => b.events.length === 0),
  ].flatMap((tier) => shuffled(rng, tier));
  if (options.blobs.length > tiers.length)
    problems.push(
      `${options.blobs.length} unreadable blobs asked, but only ${tiers.length} Audit.General blobs are created in ${window}`,
    );
  const badBlobs = new Map<string, BadBlobReason>();
  const badList: PlannedBlob[] = [];
  options.blobs.forEach((reason, i) => {
    const b = tiers[i];
    if (!b) return;
    badBlobs.set(b.contentId, reason);
    badList.push(b);
  });

  // Injected records go first in readable blobs that hold launches, one blob each when possible.
  const readable = candidates.filter(
    (b) => !badBlobs.has(b.contentId) && b.events.some(parsedLaunch),
  );
  const hosts = shuffled(rng, readable);
  const injected = new Map<string, InjectedRecord[]>();
  const injectedAt: { blob: PlannedBlob; record: InjectedRecord }[] = [];
  if (options.records.length > 0 && hosts.length === 0)
    problems.push(`records asked, but no readable Audit.General blob with launches in ${window}`);
  else
    options.records.forEach((kind, i) => {
      const blob = hosts[i % hosts.length];
      const launches = blob.events.filter(parsedLaunch);
      const source = launches[Math.floor(i / hosts.length) % launches.length];
      const record = badRecord(kind, source, seed, rng);
      injected.set(blob.contentId, [...(injected.get(blob.contentId) ?? []), record]);
      injectedAt.push({ blob, record });
    });

  // Huge records: launches only one readable blob holds (a duplicate elsewhere would hide a
  // client dropping it), current schema first.
  const eligible = readable.flatMap((b) =>
    b.events.filter((e) => parsedLaunch(e) && onlyHere(e)).map((e) => ({ e, b })),
  );
  const current = eligible.filter((x) => !x.e.legacy);
  const legacy = eligible.filter((x) => x.e.legacy);
  const ordered = [...shuffled(rng, current), ...shuffled(rng, legacy)];
  if (options.hugeRecords > ordered.length)
    problems.push(
      `${options.hugeRecords} huge records asked, but only ${ordered.length} launches held by one readable blob in ${window}`,
    );
  const huge = new Map<string, Map<string, number>>();
  const hugeAt = ordered.slice(0, options.hugeRecords);
  for (const { e, b } of hugeAt) {
    const inBlob = huge.get(b.contentId) ?? new Map<string, number>();
    inBlob.set(e.id, options.hugeRecordBytes);
    huge.set(b.contentId, inBlob);
  }
  if (problems.length > 0)
    throw new Error(
      `Invalid emulator options:\n- badInput: ${problems.join("\n- badInput: ")}\nWiden badInput.from/to or the tenant (see emulator/README.md).`,
    );

  // What a correct client can count: records held by at least one readable blob, first listed
  // when the first readable blob holding them is.
  const lost = new Set<TenantEvent>();
  const countable: TenantEvent[] = [];
  for (const e of tenant.events) {
    const held = holders.get(e) ?? [];
    const ok = held.filter((b) => !badBlobs.has(b.contentId));
    if (held.length > 0 && ok.length === 0) lost.add(e);
    else if (ok.length === held.length) countable.push(e);
    else countable.push({ ...e, firstListedAtMs: Math.min(...ok.map((b) => b.listedAtMs)) });
  }

  const requests = new Map<string, number>();
  const usesForeignHost =
    options.blobs.includes("foreignContentUri") || options.finalNextPageUri === "foreignHost";
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    options,
    fromMs,
    toMs,
    badBlobs,
    injected,
    huge,
    countableEvents: countable,
    requests,
    usesForeignHost,
    report: (foreignOrigin, contentUri) => ({
      from: iso(fromMs),
      to: iso(toMs),
      blobs: badList.map((b) => {
        const reason = badBlobs.get(b.contentId)!;
        const lostHere = b.events.filter((e) => lost.has(e));
        return {
          contentId: b.contentId,
          contentUri: contentUri(b),
          contentCreated: iso(b.createdMs),
          listedAt: iso(b.listedAtMs),
          reason,
          answer: answerOf(reason, options, foreignOrigin),
          recordIds: b.events.map((e) => e.id),
          lostRecordIds: lostHere.map((e) => e.id),
          lostLaunches: lostHere.filter(parsedLaunch).length,
          lostDeletes: lostHere.filter((e) => e.operation === "DeletePowerApp").length,
          lostUnparsed: lostHere.filter((e) => e.appId === null).length,
          requests: requests.get(b.contentId) ?? 0,
        };
      }),
      records: injectedAt.map(({ blob, record }) => ({
        contentId: blob.contentId,
        kind: record.kind,
        expected: record.expected,
        reason: record.reason,
        recordId: record.recordId,
        creationTime: record.creationTime,
        appId: record.appId,
        listedAt: iso(blob.listedAtMs),
      })),
      hugeRecords: hugeAt.map(({ e, b }) => ({
        contentId: b.contentId,
        recordId: e.id,
        appId: e.appId!,
        creationTime: iso(e.timeMs),
        bytes: options.hugeRecordBytes,
        listedAt: iso(b.listedAtMs),
      })),
      finalNextPageUri: options.finalNextPageUri,
      foreignOrigin: usesForeignHost ? foreignOrigin : null,
    }),
  };
}

function answerOf(reason: BadBlobReason, o: ResolvedBadInput, foreignOrigin: string): string {
  switch (reason) {
    case "notJson":
      return "200 with an HTML body (Content-Type application/json)";
    case "notArray":
      return "200 with a JSON object, not an array";
    case "unknownError":
      return `${o.unknownErrorStatus} ${o.unknownErrorCode}`;
    case "foreignContentUri":
      return `listed with a contentUri on ${foreignOrigin}/foreign/ (another host); its real path answers 400 AF20052`;
    case "expired":
      return "400 AF20052 (content invalid or expired) on every fetch";
  }
}

/** The unreadable body of a "notJson" blob. */
export const NOT_JSON_BODY =
  "<!DOCTYPE html><html><head><title>Office 365</title></head><body><h1>Sorry, something went wrong</h1><p>The content you requested is temporarily unavailable.</p></body></html>";

/** The body of a "notArray" blob: valid JSON, an object that holds no records. */
export function notArrayBody(contentId: string): string {
  return JSON.stringify({ contentId, status: "Unavailable", records: null });
}

/** A launch of a real app made malformed or unknown in one way; a fresh Id, the source's time. */
function badRecord(
  kind: BadRecordKind,
  source: TenantEvent,
  seed: string,
  rng: Random,
): InjectedRecord {
  const id = rng.guid();
  const r = powerAppsRecord({ ...source, id, legacy: false }, seed);
  const time = new Date(source.timeMs).toISOString();
  const made = (
    expected: "unparsed" | "noise",
    reason: string,
    over: { recordId?: string | null; creationTime?: string | null } = {},
  ): InjectedRecord => ({
    kind,
    record: r,
    expected,
    reason,
    recordId: over.recordId === undefined ? id : over.recordId,
    creationTime: over.creationTime === undefined ? time : over.creationTime,
    appId: source.appId,
  });
  switch (kind) {
    case "missingId":
      delete r.Id;
      return made("unparsed", "LaunchPowerApp without Id", { recordId: null });
    case "idNotString":
      r.Id = rng.int(100_000_000, 999_999_999);
      return made("unparsed", "Id is a number", { recordId: null });
    case "creationTimeNotString":
      r.CreationTime = source.timeMs;
      return made("unparsed", "CreationTime is a number (epoch ms)", { creationTime: null });
    case "propertyCollectionNotArray": {
      const props = r.PropertyCollection as { Name: string; Value: string }[];
      r.PropertyCollection = Object.fromEntries(props.map((p) => [p.Name, p.Value]));
      return made("unparsed", "PropertyCollection is an object, not an array");
    }
    case "creationTimeOutOfRange":
      r.CreationTime = "2026-13-45T99:00:00";
      return made("unparsed", 'CreationTime "2026-13-45T99:00:00" is no date', {
        creationTime: null,
      });
    case "creationTimeNotADate":
      r.CreationTime = "yesterday";
      return made("unparsed", 'CreationTime "yesterday" is no date', { creationTime: null });
    case "unknownRecordType":
      r.RecordType = 9999;
      r.Operation = "SomethingNew";
      r.Workload = "SomethingNew";
      return made("noise", "RecordType 9999 with Operation SomethingNew: not a launch");
    case "unknownOperation": {
      r.Operation = "SomethingNew";
      for (const p of r.PropertyCollection as { Name: string; Value: string }[])
        if (p.Name === "powerplatform.analytics.activity.name") p.Value = "SomethingNew";
      return made("noise", "RecordType 256 with Operation SomethingNew: not a launch");
    }
  }
}

/**
 * A launch's record padded to `bytes` of JSON, produced in ~64 KB pieces: a description property
 * (current schema) or an ExtendedProperties entry (older schema) carries the padding.
 */
export function* hugeRecordText(e: TenantEvent, seed: string, bytes: number): Generator<string> {
  const marker = "\u0001pad\u0001";
  const record = powerAppsRecord(e, seed);
  if (Array.isArray(record.PropertyCollection))
    (record.PropertyCollection as { Name: string; Value: string }[]).push({
      Name: DESCRIPTION,
      Value: marker,
    });
  else record.ExtendedProperties = [{ Name: "Description", Value: marker }];
  const text = JSON.stringify(record);
  const escaped = JSON.stringify(marker).slice(1, -1);
  const at = text.indexOf(escaped);
  yield text.slice(0, at);
  const sentence = "This app helps the team record and follow up its requests. ";
  let left = Math.max(0, bytes - (text.length - escaped.length));
  const piece = sentence.repeat(Math.ceil(65_536 / sentence.length));
  while (left > 0) {
    const n = Math.min(left, piece.length);
    yield piece.slice(0, n);
    left -= n;
  }
  yield text.slice(at + escaped.length);
}

function shuffled<T>(rng: Random, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
