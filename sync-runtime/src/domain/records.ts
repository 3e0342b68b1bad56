/**
 * Power Apps events out of raw audit records, in both schemas (learn.microsoft.com, "Office 365
 * Management Activity API schema": common schema and the Power Apps/Power Platform record types):
 * - current (Purview, RecordType 256, Workload PowerPlatform): details in PropertyCollection;
 * - older (RecordType 45, Workload PowerApps): app id in AppName, environment in EnvironmentName.
 * A launch or delete from which no app id can be read is "unparsed": counted and reported,
 * never dropped silently (the CoE flow's silent empty data after the schema change).
 */
export type EventKind = "launch" | "delete";

export interface PowerAppEvent {
  kind: EventKind;
  recordId: string;
  /** ISO 8601 UTC with milliseconds and Z, as Date.prototype.toISOString() writes it. */
  creationTime: string;
  appId: string;
  appName: string | null;
  environmentId: string | null;
  userUpn: string | null;
  /** The record's UserKey: the user's Entra object id (what the CoE writes to admin_userid). */
  userKey: string | null;
  schema: "purview" | "legacy";
}

export type Classified =
  | { type: "event"; event: PowerAppEvent }
  | { type: "other"; recordId: string; creationTime: string }
  | { type: "unparsed"; reason: string; recordId?: string };

/** The operation's kind, names compared case-insensitively (both are 14 characters long). */
function kindOf(operation: string): EventKind | undefined {
  if (operation.length !== 14) return undefined;
  const name = operation.toLowerCase();
  return name === "launchpowerapp" ? "launch" : name === "deletepowerapp" ? "delete" : undefined;
}

const PROP = {
  appId: "powerplatform.analytics.resource.power_app.id",
  appName: "powerplatform.analytics.resource.power_app.display_name",
  environmentId: "powerplatform.analytics.resource.environment.id",
  user: "enduser.principal_name",
};

export function classifyRecord(raw: unknown): Classified {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) {
    return { type: "unparsed", reason: "record is not a JSON object" };
  }
  const r = raw as Record<string, unknown>;
  const recordId = str(r.Id);
  if (!recordId) return { type: "unparsed", reason: "record has no Id" };
  const creationTime = creationTimeIso(r.CreationTime);
  if (!creationTime) {
    return { type: "unparsed", reason: "record has no valid CreationTime", recordId };
  }
  const operation = str(r.Operation);
  const kind = operation ? kindOf(operation) : undefined;
  if (!kind) return { type: "other", recordId, creationTime };

  const props = purviewProps(r.PropertyCollection);
  const purviewAppId = props.appId;
  if (purviewAppId) {
    return {
      type: "event",
      event: {
        kind,
        recordId,
        creationTime,
        appId: purviewAppId,
        appName: props.appName ?? null,
        environmentId: props.environmentId ?? str(r.EnvironmentId) ?? null,
        userUpn: str(r.UserId) ?? props.user ?? null,
        userKey: str(r.UserKey) ?? null,
        schema: "purview",
      },
    };
  }
  const legacy = legacyFields(r);
  if (legacy.appId) {
    return {
      type: "event",
      event: {
        kind,
        recordId,
        creationTime,
        appId: legacy.appId,
        appName: legacy.appName,
        environmentId: legacy.environmentId,
        userUpn: str(r.UserId) ?? null,
        userKey: str(r.UserKey) ?? null,
        schema: "legacy",
      },
    };
  }
  return {
    type: "unparsed",
    reason: `${operation} record has neither PropertyCollection app id nor AppName`,
    recordId,
  };
}

/** CreationTime has no zone suffix and is UTC; a suffix, if present, is respected. */
export function parseCreationTime(value: unknown): Date | undefined {
  const s = str(value);
  if (!s) return undefined;
  const m = CREATION_TIME.exec(s);
  if (!m) return undefined;
  const d = new Date(m[3] ? s : `${s}Z`);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/**
 * parseCreationTime's answer as toISOString() writes it. The API's own form (seconds, no zone:
 * "2026-05-19T13:17:34") with a day that exists in every month becomes ISO by appending
 * ".000Z": building and printing a Date for every record cost more than parsing its JSON.
 */
export function creationTimeIso(value: unknown): string | undefined {
  if (typeof value === "string" && isCanonicalTime(value)) {
    const month = twoDigits(value, 5);
    const day = twoDigits(value, 8);
    if (month >= 1 && month <= 12 && day >= 1 && day <= 28) {
      if (twoDigits(value, 11) < 24 && twoDigits(value, 14) < 60 && twoDigits(value, 17) < 60)
        return `${value}.000Z`;
    }
  }
  return parseCreationTime(value)?.toISOString();
}

function twoDigits(s: string, at: number): number {
  return (s.charCodeAt(at) - 48) * 10 + s.charCodeAt(at + 1) - 48;
}

/** "dddd-dd-ddTdd:dd:dd", checked by character codes (a regex here was a tenth of classifying). */
function isCanonicalTime(s: string): boolean {
  if (s.length !== CANONICAL_TIME.length) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const want = CANONICAL_TIME.charCodeAt(i);
    if (want === 0x64 /* d */ ? c < 0x30 || c > 0x39 : c !== want) return false;
  }
  return true;
}

const CANONICAL_TIME = "dddd-dd-ddTdd:dd:dd";

const CREATION_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** The PropertyCollection values classifyRecord reads (names compared case-insensitively). */
function purviewProps(value: unknown): Partial<Record<keyof typeof PROP, string>> {
  const props: Partial<Record<keyof typeof PROP, string>> = {};
  if (!Array.isArray(value)) return props;
  for (const item of value) {
    if (!item || typeof item !== "object") continue;
    const raw = (item as Record<string, unknown>).Name;
    if (typeof raw !== "string") continue;
    // Most names are other properties: lower-cased only when the name as written is not wanted.
    const field = PROP_FIELDS.get(raw) ?? PROP_FIELDS.get(raw.trim().toLowerCase());
    if (!field) continue;
    const v = str((item as Record<string, unknown>).Value);
    if (v) props[field] = v;
  }
  return props;
}

const PROP_FIELDS = new Map(
  Object.entries(PROP).map(([field, name]) => [name, field as keyof typeof PROP]),
);

/**
 * The older schema. AppName holds the app id; the display name, when present, is in
 * AppDisplayName or inside the AdditionalInfo JSON string some records carry.
 */
function legacyFields(r: Record<string, unknown>): {
  appId?: string;
  appName: string | null;
  environmentId: string | null;
} {
  let extra: Record<string, unknown> = {};
  const info = str(r.AdditionalInfo);
  if (info) {
    try {
      const parsed = JSON.parse(info);
      if (parsed && typeof parsed === "object") extra = parsed as Record<string, unknown>;
    } catch {
      // AdditionalInfo is free text in some records; the top-level fields still apply.
    }
  }
  return {
    appId: str(r.AppName) ?? str(extra.AppName) ?? str(extra.appName),
    appName:
      str(r.AppDisplayName) ?? str(extra.AppDisplayName) ?? str(extra.appDisplayName) ?? null,
    environmentId:
      str(r.EnvironmentName) ?? str(extra.EnvironmentName) ?? str(extra.environmentName) ?? null,
  };
}

function str(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  const t = value.trim();
  return t !== "" ? t : undefined;
}
