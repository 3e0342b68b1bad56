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
  schema: "purview" | "legacy";
}

export type Classified =
  | { type: "event"; event: PowerAppEvent }
  | { type: "other"; recordId: string; creationTime: string }
  | { type: "unparsed"; reason: string; recordId?: string };

const OPERATIONS: Record<string, EventKind> = {
  launchpowerapp: "launch",
  deletepowerapp: "delete",
};

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
  const time = parseCreationTime(r.CreationTime);
  if (!time) return { type: "unparsed", reason: "record has no valid CreationTime", recordId };
  const creationTime = time.toISOString();
  const operation = str(r.Operation);
  const kind = operation ? OPERATIONS[operation.toLowerCase()] : undefined;
  if (!kind) return { type: "other", recordId, creationTime };

  const props = propertyMap(r.PropertyCollection);
  const purviewAppId = props.get(PROP.appId);
  if (purviewAppId) {
    return {
      type: "event",
      event: {
        kind,
        recordId,
        creationTime,
        appId: purviewAppId,
        appName: props.get(PROP.appName) ?? null,
        environmentId: props.get(PROP.environmentId) ?? str(r.EnvironmentId) ?? null,
        userUpn: str(r.UserId) ?? props.get(PROP.user) ?? null,
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

const CREATION_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** The PropertyCollection values classifyRecord reads (names compared case-insensitively). */
function propertyMap(value: unknown): Map<string, string> {
  const map = new Map<string, string>();
  if (!Array.isArray(value)) return map;
  for (const item of value) {
    if (item && typeof item === "object") {
      const raw = (item as Record<string, unknown>).Name;
      if (typeof raw !== "string") continue;
      // Most names are other properties: keep only the wanted ones, lower-casing only to check.
      const name = WANTED_PROPS.has(raw) ? raw : raw.trim().toLowerCase();
      if (!WANTED_PROPS.has(name)) continue;
      const v = str((item as Record<string, unknown>).Value);
      if (v) map.set(name, v);
    }
  }
  return map;
}

const WANTED_PROPS = new Set(Object.values(PROP));

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
