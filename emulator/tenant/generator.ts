/**
 * The synthetic tenant: its apps, users and environments, the Power Apps events of its timeline,
 * and how those events are packed into content blobs over time. Pure and deterministic by seed:
 * the same options always give the same tenant, records and blobs.
 */
import {
  CONTENT_TYPES,
  POWER_APPS_CONTENT_TYPE,
  type ContentOptions,
  type TenantOptions,
} from "../options";
import { Random } from "../random";
import type { PowerAppsEvent } from "./records";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export interface App {
  id: string;
  name: string;
  environmentId: string;
  /** When the app was deleted, if it is within the timeline. */
  deletedAtMs: number | null;
  /** When the app was abandoned (no launch from then on, not deleted), if it was. */
  abandonedAtMs: number | null;
}

export interface User {
  objectId: string;
  upn: string;
  /** What Microsoft Graph holds of the user (GET /users/{id}). */
  profile: UserProfile;
  /** Deleted from Entra ID since: Graph answers 404 for the user, the audit records remain. */
  deleted: boolean;
}

/** A user's profile properties Graph serves (resources/user). */
export interface UserProfile {
  displayName: string;
  city: string | null;
  country: string | null;
  department: string | null;
  jobTitle: string | null;
  /** "Member", or "Guest" for a B2B guest invited from another organization. */
  userType: "Member" | "Guest";
}

export interface TenantEvent extends PowerAppsEvent {
  /** When the record becomes available to the API (event time + latency). */
  availableAtMs: number;
  /** Earliest listedAt of the blobs holding it (filled in when blobs are planned). */
  firstListedAtMs: number;
}

export interface PlannedBlob {
  contentType: string;
  contentId: string;
  createdMs: number;
  /** When the blob first shows up in listings; later than createdMs for late-listed blobs. */
  listedAtMs: number;
  /** Events of the tenant's timeline held by this blob (duplicates included). */
  events: TenantEvent[];
  /** Noise records generated on the fly when the blob is served. */
  noiseCount: number;
}

export interface Tenant {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  /** The secret's id: what users paste by mistake instead of its value. */
  clientSecretId: string;
  domain: string;
  environments: string[];
  users: User[];
  apps: App[];
  timelineStartMs: number;
  timelineEndMs: number;
  events: TenantEvent[];
  blobs: Map<string, PlannedBlob[]>;
  blobsById: Map<string, PlannedBlob>;
}

export interface GenerateInput {
  seed: string;
  /** The clock's start: the timeline spans [anchor - days, anchor + futureDays). */
  anchorMs: number;
  tenant: Required<TenantOptions>;
  content: Required<ContentOptions>;
  tenantId?: string;
  clientId?: string;
  clientSecret?: string;
}

const FIRST = [
  "Amber",
  "Bruno",
  "Chen",
  "Dana",
  "Elif",
  "Farid",
  "Grace",
  "Hugo",
  "Ines",
  "Jonas",
  "Kemal",
  "Lena",
  "Mateo",
  "Nora",
  "Omar",
  "Priya",
  "Quinn",
  "Rosa",
  "Sven",
  "Tara",
];
const LAST = [
  "Rios",
  "Novak",
  "Li",
  "Okafor",
  "Yilmaz",
  "Haddad",
  "Kim",
  "Laurent",
  "Silva",
  "Berg",
  "Demir",
  "Fischer",
  "Garcia",
  "Ivanova",
  "Jensen",
  "Khan",
  "Moreau",
  "Nakamura",
  "Costa",
  "Walsh",
];
const APP_WORDS = [
  "Expense",
  "Leave",
  "Inspection",
  "Asset",
  "Onboarding",
  "Timesheet",
  "Visitor",
  "Safety",
  "Travel",
  "Helpdesk",
  "Inventory",
  "Budget",
  "Room",
  "Training",
  "Field",
];
const APP_SUFFIX = [
  "Tracker",
  "Request",
  "Manager",
  "Portal",
  "Checklist",
  "Log",
  "Planner",
  "App",
];

export function generateTenant(input: GenerateInput): Tenant {
  const { seed, tenant: t, content: c } = input;
  const ids = new Random(seed, "ids");
  const tenantId = input.tenantId ?? ids.guid();
  const clientId = input.clientId ?? ids.guid();
  const clientSecretId = ids.guid();
  const clientSecret = input.clientSecret ?? secretValue(new Random(seed, "secret"));

  const anchorMs = Math.floor(input.anchorMs / 1000) * 1000;
  const timelineStartMs = anchorMs - Math.round(t.days * DAY);
  const timelineEndMs = anchorMs + Math.round(t.futureDays * DAY);

  const envRng = new Random(seed, "environments");
  const environments = Array.from({ length: t.environments }, () => envRng.guid());
  // Profiles come from their own stream, so the users' ids and all that follows stay as they were.
  const users = makeUsers(
    new Random(seed, "users"),
    new Random(seed, "user-profiles"),
    t.users,
    t.domain,
  );
  const apps = makeApps(
    new Random(seed, "apps"),
    t.apps,
    environments,
    t.deletes,
    timelineStartMs,
    timelineEndMs,
  );
  abandonApps(new Random(seed, "abandoned"), apps, t.abandonedApps, timelineStartMs, anchorMs);
  const events = makeEvents(
    new Random(seed, "events"),
    input,
    tenantId,
    users,
    apps,
    timelineStartMs,
    timelineEndMs,
  );
  const blobs = planBlobs(
    new Random(seed, "blobs"),
    c,
    t.noisePerBlob,
    events,
    timelineStartMs,
    timelineEndMs,
  );
  const blobsById = new Map<string, PlannedBlob>();
  for (const list of blobs.values()) for (const b of list) blobsById.set(b.contentId, b);

  return {
    tenantId,
    clientId,
    clientSecret,
    clientSecretId,
    domain: t.domain,
    environments,
    users,
    apps,
    timelineStartMs,
    timelineEndMs,
    events,
    blobs,
    blobsById,
  };
}

/** Looks like an Entra client secret value (40 chars with the "~" marker), never like its GUID id. */
function secretValue(rng: Random): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.";
  let s = `${rng.pick(["Emu", "Qx7", "k9P"])}8Q~`;
  while (s.length < 40) s += alphabet[rng.int(0, alphabet.length - 1)];
  return s;
}

function makeUsers(rng: Random, profileRng: Random, count: number, domain: string): User[] {
  const seen = new Set<string>();
  const users: User[] = [];
  for (let i = 0; i < count; i++) {
    let local = `${rng.pick(FIRST)}${rng.pick(LAST)[0]}`;
    if (seen.has(local.toLowerCase())) local = `${local}${i}`;
    seen.add(local.toLowerCase());
    users.push({
      objectId: rng.guid(),
      upn: `${local}@${domain}`,
      profile: profileOf(profileRng, local, i),
      // Every 9th user (from the 9th) has been deleted from Entra ID since.
      deleted: i % 9 === 8,
    });
  }
  return users;
}

const PLACES: [city: string, country: string][] = [
  ["Seattle", "United States"],
  ["Dublin", "Ireland"],
  ["Munich", "Germany"],
  ["Lyon", "France"],
  ["Osaka", "Japan"],
];
const DEPARTMENTS = ["Finance", "Sales", "Operations", "IT", "Human Resources"];
const TITLES = ["Analyst", "Manager", "Engineer", "Coordinator", "Director"];

/**
 * A deterministic profile: every 5th user (from the 4th) is a guest without city or country,
 * and some members leave their department empty, as real directories do. The first user (the
 * admin who deletes apps) is a member.
 */
function profileOf(rng: Random, local: string, i: number): UserProfile {
  const [city, country] = rng.pick(PLACES);
  const guest = i % 5 === 3;
  return {
    displayName: guest ? `${local} (Guest)` : local,
    city: guest ? null : city,
    country: guest ? null : country,
    department: rng.chance(0.1) ? null : rng.pick(DEPARTMENTS),
    jobTitle: rng.pick(TITLES),
    userType: guest ? "Guest" : "Member",
  };
}

/** The same user written with the varying casing real records show (UPNs compare case-insensitively). */
function writtenUpn(rng: Random, upn: string): string {
  const roll = rng.next();
  if (roll < 0.7) return upn;
  if (roll < 0.8) return upn.toLowerCase();
  if (roll < 0.9) return upn.toUpperCase();
  const [local, domain] = upn.split("@");
  return `${local}@${domain.replace(/^(\w+)\./, (m) => m.toUpperCase()).replace("onmicrosoft", "OnMicrosoft")}`;
}

function makeApps(
  rng: Random,
  count: number,
  environments: string[],
  deletes: number,
  startMs: number,
  endMs: number,
): App[] {
  const apps: App[] = [];
  for (let i = 0; i < count; i++) {
    apps.push({
      id: rng.guid(),
      name: `${rng.pick(APP_WORDS)} ${rng.pick(APP_SUFFIX)}${i >= APP_WORDS.length ? ` ${i}` : ""}`,
      environmentId: environments[i % environments.length],
      deletedAtMs: null,
      abandonedAtMs: null,
    });
  }
  // Deleted apps are spread over the middle of the timeline so windows see before and after.
  const chosen = new Set<number>();
  while (chosen.size < deletes) chosen.add(rng.int(0, count - 1));
  for (const idx of chosen) {
    const at = startMs + Math.floor((rng.between(0.2, 0.9) * (endMs - startMs)) / 1000) * 1000;
    apps[idx].deletedAtMs = at;
  }
  return apps;
}

/**
 * Marks up to `count` apps abandoned (see TenantOptions.abandonedApps). Its own random stream, so
 * the other apps, users and deletions are the same as without abandoned apps.
 */
function abandonApps(
  rng: Random,
  apps: App[],
  count: number,
  startMs: number,
  anchorMs: number,
): void {
  // The more popular half (apps are in popularity order), without the top app or deleted ones.
  const candidates: number[] = [];
  for (let i = 1; i < Math.ceil(apps.length / 2); i++) {
    if (apps[i].deletedAtMs === null) candidates.push(i);
  }
  const historyMs = anchorMs - startMs;
  const [lo, hi] =
    historyMs >= 7 * DAY
      ? [anchorMs - 6 * DAY, anchorMs - 4 * DAY]
      : [anchorMs - 0.7 * historyMs, anchorMs - 0.4 * historyMs];
  // Bounded by the candidates: each round removes one.
  for (let n = 0; n < count && candidates.length > 0; n++) {
    const [idx] = candidates.splice(rng.int(0, candidates.length - 1), 1);
    apps[idx].abandonedAtMs = Math.floor(rng.between(lo, hi) / 1000) * 1000;
  }
}

function makeEvents(
  rng: Random,
  input: GenerateInput,
  organizationId: string,
  users: User[],
  apps: App[],
  startMs: number,
  endMs: number,
): TenantEvent[] {
  const { tenant: t, content: c } = input;
  const events: TenantEvent[] = [];
  // Zipf-like popularity: a few apps get most launches, as in real tenants.
  const weights = apps.map((_, i) => 1 / (i + 1) ** 0.9);
  const audiences = apps.map(() => {
    const size = Math.max(1, Math.round(users.length * rng.between(0.1, 0.7)));
    const offset = rng.int(0, users.length - 1);
    return Array.from({ length: size }, (_, k) => users[(offset + k * 7) % users.length]);
  });
  const availability = (timeMs: number) => {
    const late = rng.chance(c.lateAvailabilityShare);
    const minutes = late
      ? rng.between(c.availabilityMinutes[1], c.maxAvailabilityHours * 60)
      : rng.between(c.availabilityMinutes[0], c.availabilityMinutes[1]);
    return timeMs + Math.round(minutes * MINUTE);
  };
  const push = (e: PowerAppsEvent) =>
    events.push({ ...e, availableAtMs: availability(e.timeMs), firstListedAtMs: Infinity });

  for (let dayStart = Math.floor(startMs / DAY) * DAY; dayStart < endMs; dayStart += DAY) {
    const weekday = new Date(dayStart).getUTCDay();
    const factor = weekday === 0 || weekday === 6 ? 1 / 3 : 1;
    const count = rng.poisson(t.launchesPerDay * factor);
    for (let i = 0; i < count; i++) {
      // Launches cluster in working hours (about 07:00-19:00 UTC) with a tail at night.
      const hour = rng.chance(0.85) ? rng.between(7, 19) : rng.between(0, 24);
      const timeMs = dayStart + Math.floor(hour * 3600) * 1000;
      if (timeMs < startMs || timeMs >= endMs) continue;
      const alive = apps.map((a, k) =>
        (a.deletedAtMs === null || a.deletedAtMs > timeMs) &&
        (a.abandonedAtMs === null || a.abandonedAtMs > timeMs)
          ? weights[k]
          : 0,
      );
      const k = weightedIndex(rng, alive);
      if (k < 0) continue;
      const app = apps[k];
      const user = rng.pick(audiences[k]);
      push({
        id: rng.guid(),
        timeMs,
        operation: "LaunchPowerApp",
        organizationId,
        userObjectId: user.objectId,
        upn: writtenUpn(rng, user.upn),
        appId: rng.chance(t.unparsedShare) ? null : app.id,
        appName: app.name,
        environmentId: app.environmentId,
        legacy: rng.chance(t.legacySchemaShare),
      });
    }
  }
  const admin = users[0];
  for (const app of apps) {
    if (app.deletedAtMs === null) continue;
    push({
      id: rng.guid(),
      timeMs: app.deletedAtMs,
      operation: "DeletePowerApp",
      organizationId,
      userObjectId: admin.objectId,
      upn: admin.upn,
      appId: app.id,
      appName: app.name,
      environmentId: app.environmentId,
      legacy: rng.chance(t.legacySchemaShare),
    });
  }
  events.sort((a, b) => a.timeMs - b.timeMs || (a.id < b.id ? -1 : 1));
  return events;
}

function weightedIndex(rng: Random, weights: number[]): number {
  const total = weights.reduce((s, w) => s + w, 0);
  if (total <= 0) return -1;
  let roll = rng.next() * total;
  for (let i = 0; i < weights.length; i++) {
    roll -= weights[i];
    if (roll < 0 && weights[i] > 0) return i;
  }
  return weights.findLastIndex((w) => w > 0);
}

/**
 * Packs events into blobs. Each content type gets a blob every blobIntervalMinutes (with jitter);
 * a record lands in the first blob created at or after it became available. Some records are
 * served again in a later blob, some blobs are listed late, some are padded to tens of MB.
 */
function planBlobs(
  rng: Random,
  c: Required<ContentOptions>,
  noisePerBlob: [number, number],
  events: TenantEvent[],
  startMs: number,
  endMs: number,
): Map<string, PlannedBlob[]> {
  // Whole seconds throughout, so a listing window can start or end exactly on a contentCreated.
  const interval = Math.max(1, Math.round(c.blobIntervalMinutes * 60)) * 1000;
  const lastMs = endMs + Math.ceil(c.maxAvailabilityHours * HOUR) + HOUR;
  const ticks = Math.ceil((lastMs - startMs) / interval);
  const tickTimes = Array.from(
    { length: ticks },
    (_, k) =>
      startMs + (k + 1) * interval + Math.floor((rng.next() * interval * 0.5) / 1000) * 1000,
  );
  const byTick: TenantEvent[][] = Array.from({ length: ticks }, () => []);
  for (const e of events) {
    let k = Math.max(0, Math.ceil((e.availableAtMs - startMs) / interval) - 1);
    while (k < ticks && tickTimes[k] < e.availableAtMs) k++;
    if (k >= ticks) continue;
    byTick[k].push(e);
    if (rng.chance(c.duplicateShare)) {
      const again = k + rng.int(1, 12);
      if (again < ticks) byTick[again].push(e);
    }
  }

  const result = new Map<string, PlannedBlob[]>();
  const usedIds = new Set<string>();
  const bigRecordBytes = 700;
  for (const contentType of CONTENT_TYPES) {
    const blobs: PlannedBlob[] = [];
    const general = contentType === POWER_APPS_CONTENT_TYPE;
    for (let k = 0; k < ticks; k++) {
      const tickEvents = general ? byTick[k] : [];
      let noise = rng.int(noisePerBlob[0], noisePerBlob[1]);
      if (!general) noise = Math.max(1, noise);
      if (general && rng.chance(c.bigBlobShare))
        noise = Math.round(rng.between(c.bigBlobBytes[0], c.bigBlobBytes[1]) / bigRecordBytes);
      if (tickEvents.length === 0 && noise === 0) continue;
      const parts = Math.max(1, Math.ceil(tickEvents.length / c.maxRecordsPerBlob));
      for (let p = 0; p < parts; p++) {
        const createdMs = tickTimes[k] + p * 1000;
        const lateListed = rng.chance(c.lateListingShare);
        const listedAtMs = lateListed
          ? createdMs +
            Math.round(rng.between(c.lateListingMinutes[0], c.lateListingMinutes[1]) * MINUTE)
          : createdMs;
        const part = tickEvents.slice(p * c.maxRecordsPerBlob, (p + 1) * c.maxRecordsPerBlob);
        const blob: PlannedBlob = {
          contentType,
          contentId: contentId(rng, contentType, createdMs, usedIds),
          createdMs,
          listedAtMs,
          events: part,
          noiseCount: p === 0 ? noise : 0,
        };
        for (const e of part) e.firstListedAtMs = Math.min(e.firstListedAtMs, listedAtMs);
        blobs.push(blob);
      }
    }
    blobs.sort((a, b) => a.createdMs - b.createdMs || (a.contentId < b.contentId ? -1 : 1));
    result.set(contentType, blobs);
  }
  return result;
}

/** "2026-06-10T08:05:03.120Z" -> "20260610080503120" (a regular expression per blob cost more). */
function digitsOf(iso: string): string {
  return (
    iso.slice(0, 4) +
    iso.slice(5, 7) +
    iso.slice(8, 10) +
    iso.slice(11, 13) +
    iso.slice(14, 16) +
    iso.slice(17, 19) +
    iso.slice(20, 23)
  );
}

/** Shaped like real content ids: two time stamps, the content type, and a random part, joined by "$". */
function contentId(rng: Random, contentType: string, createdMs: number, used: Set<string>): string {
  const stamp = digitsOf(new Date(createdMs).toISOString());
  const kind = contentType.replace(".", "_");
  const lower = kind.toLowerCase();
  for (;;) {
    const id = `${stamp}${rng.int(100, 999)}$${stamp}${rng.int(100, 999)}$${lower}$${kind}$emu${rng.hex(6)}`;
    if (!used.has(id)) {
      used.add(id);
      return id;
    }
  }
}
