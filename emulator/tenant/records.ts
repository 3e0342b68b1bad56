/**
 * Audit record bodies as the Management Activity API serves them: the two Power Apps schemas
 * (learn.microsoft.com, "Office 365 Management Activity API schema") and noise from other
 * workloads. Pure builders, no I/O.
 */
import { Random } from "../random";

export type AuditRecord = Record<string, unknown>;

/** CreationTime carries no zone suffix and no fraction: it is UTC to the second. */
export function creationTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19);
}

export interface PowerAppsEvent {
  id: string;
  timeMs: number;
  operation: "LaunchPowerApp" | "DeletePowerApp";
  organizationId: string;
  userObjectId: string;
  /** The UPN exactly as this record writes it (casing varies between records of one user). */
  upn: string;
  /** null for an unparsed record: neither id form is present. */
  appId: string | null;
  appName: string;
  environmentId: string;
  legacy: boolean;
}

const P = "powerplatform.analytics.resource";

/** RecordType 256 (PowerPlatformAdministratorActivity), the Purview schema since late 2024. */
function currentSchema(e: PowerAppsEvent, rng: Random): AuditRecord {
  const properties = [
    { Name: `${P}.power_app.display_name`, Value: e.appName },
    ...(e.appId ? [{ Name: `${P}.power_app.id`, Value: e.appId }] : []),
    { Name: `${P}.environment.id`, Value: e.environmentId },
    { Name: "powerplatform.analytics.activity.name", Value: e.operation },
    { Name: "enduser.principal_name", Value: e.upn },
    { Name: "enduser.id", Value: e.userObjectId },
  ];
  // Property order is not part of the contract; clients must look properties up by name.
  for (let i = properties.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [properties[i], properties[j]] = [properties[j], properties[i]];
  }
  return {
    Id: e.id,
    RecordType: 256,
    CreationTime: creationTime(e.timeMs),
    Operation: e.operation,
    OrganizationId: e.organizationId,
    UserType: 0,
    UserKey: e.userObjectId,
    Workload: "PowerPlatform",
    ResultStatus: "Succeeded",
    UserId: e.upn,
    EnvironmentId: e.environmentId,
    PropertyCollection: properties,
  };
}

/** RecordType 45 (PowerAppsApp), the form before the schema change. */
function legacySchema(e: PowerAppsEvent): AuditRecord {
  const record: AuditRecord = {
    Id: e.id,
    RecordType: 45,
    CreationTime: creationTime(e.timeMs),
    Operation: e.operation,
    OrganizationId: e.organizationId,
    UserType: 0,
    UserKey: e.userObjectId,
    Workload: "PowerApps",
    ResultStatus: "Succeeded",
    UserId: e.upn,
    ObjectId: e.appId ?? "",
  };
  if (e.appId) record.AppName = e.appId;
  record.EnvironmentName = e.environmentId;
  record.AdditionalInfo = JSON.stringify({ environmentName: e.environmentId });
  return record;
}

export function powerAppsRecord(e: PowerAppsEvent, seed: string): AuditRecord {
  return e.legacy ? legacySchema(e) : currentSchema(e, new Random(seed, `props/${e.id}`));
}

const GENERAL_NOISE: ((rng: Random, base: AuditRecord) => AuditRecord)[] = [
  (rng, base) => ({
    ...base,
    RecordType: 25,
    Workload: "MicrosoftTeams",
    Operation: rng.pick(["MemberAdded", "MessageSent", "TeamCreated", "ChannelAdded"]),
    TeamName: `Team ${rng.int(1, 40)}`,
  }),
  (rng, base) => ({
    ...base,
    RecordType: 30,
    Workload: "MicrosoftFlow",
    Operation: rng.pick(["CreateFlow", "EditFlow", "DeleteFlow"]),
    FlowDetailsUrl: `https://make.powerautomate.com/flows/${rng.guid()}`,
  }),
  // Power Apps operations that are neither launches nor deletes must not create usage.
  (rng, base) => ({
    ...base,
    RecordType: 256,
    Workload: "PowerPlatform",
    Operation: rng.pick(["EditPowerApp", "PowerAppPermissionEdited", "PublishPowerApp"]),
    PropertyCollection: [
      { Name: `${P}.power_app.id`, Value: rng.guid() },
      { Name: `${P}.environment.id`, Value: rng.guid() },
    ],
  }),
  (rng, base) => ({
    ...base,
    RecordType: 45,
    Workload: "PowerApps",
    Operation: "PowerAppPermissionEdited",
    AppName: rng.guid(),
    EnvironmentName: rng.guid(),
  }),
  (_rng, base) => ({
    ...base,
    RecordType: 64,
    Workload: "AirInvestigation",
    Operation: "AirInvestigationData",
  }),
];

const NOISE_BY_CONTENT_TYPE: Record<string, (rng: Random, base: AuditRecord) => AuditRecord> = {
  "Audit.SharePoint": (rng, base) => ({
    ...base,
    RecordType: 6,
    Workload: rng.pick(["SharePoint", "OneDrive"]),
    Operation: rng.pick(["FileAccessed", "FileModified", "FileDownloaded", "PageViewed"]),
    SiteUrl: `https://contoso.sharepoint.com/sites/site${rng.int(1, 30)}/`,
    SourceFileName: `Document ${rng.int(1, 999)}.docx`,
    ItemType: "File",
  }),
  "Audit.Exchange": (rng, base) => ({
    ...base,
    RecordType: 50,
    Workload: "Exchange",
    Operation: rng.pick(["MailItemsAccessed", "Send", "MoveToDeletedItems"]),
    ClientIPAddress: `10.0.${rng.int(0, 255)}.${rng.int(1, 254)}`,
  }),
  "Audit.AzureActiveDirectory": (rng, base) => ({
    ...base,
    RecordType: 15,
    Workload: "AzureActiveDirectory",
    Operation: rng.pick(["UserLoggedIn", "UserLoginFailed", "Update user."]),
    ApplicationId: rng.guid(),
  }),
  "DLP.All": (_rng, base) => ({
    ...base,
    RecordType: 13,
    Workload: "Exchange",
    Operation: "DlpRuleMatch",
    PolicyDetails: [{ PolicyName: "Default DLP", Rules: [{ RuleName: "Credit cards" }] }],
  }),
};

/**
 * The index-th noise record of a blob, derived from (seed, contentId, index) alone so a blob of
 * any size can be streamed without keeping its records anywhere.
 */
export function noiseRecord(
  seed: string,
  contentType: string,
  contentId: string,
  index: number,
  aroundMs: number,
  organizationId: string,
  domain: string,
): AuditRecord {
  const rng = new Random(seed, `noise/${contentId}/${index}`);
  const user = `user${rng.int(1, 500)}@${domain}`;
  const base: AuditRecord = {
    Id: rng.guid(),
    RecordType: 0,
    CreationTime: creationTime(aroundMs - rng.int(60, 90 * 60) * 1000),
    Operation: "",
    OrganizationId: organizationId,
    UserType: 0,
    UserKey: rng.guid(),
    Workload: "",
    ResultStatus: "Succeeded",
    UserId: user,
    ObjectId: `https://contoso.sharepoint.com/${rng.hex(12)}`,
  };
  const build = NOISE_BY_CONTENT_TYPE[contentType] ?? rng.pick(GENERAL_NOISE);
  return build(rng, base);
}
