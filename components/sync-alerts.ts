import * as pulumi from "@pulumi/pulumi";
import * as monitor from "@pulumi/azure-native/monitor";
import * as time from "@pulumiverse/time";
import { LOG_EVENTS, type LogEvent } from "../sync-runtime/contract";

export interface SyncAlertsArgs {
  /** Resource group holding the action group and the rules. */
  readonly resourceGroupName: pulumi.Input<string>;
  /** Azure region of the workspace (where the rules run). */
  readonly location: pulumi.Input<string>;
  /** ARM id of the Log Analytics workspace the Container App environment writes to. */
  readonly workspaceId: pulumi.Input<string>;
  /** Name of the Container App whose logs the rules read. */
  readonly containerAppName: pulumi.Input<string>;
  /** Minutes between two passes (stack config syncIntervalMinutes). */
  readonly syncIntervalMinutes: number;
  /** Addresses the action group mails (at least one). */
  readonly emails: readonly string[];
  /** End date (RFC 3339) of the client secret, when the stack keeps one. Default: none. */
  readonly clientSecretEndDate?: pulumi.Input<string>;
}

/** What a rule's query is built from. */
export interface AlertContext {
  /** The Container App's name, as `ContainerAppName_s` carries it. */
  readonly appName: string;
  /** The client secret's end date (RFC 3339), when the stack keeps one. */
  readonly secretEndDate?: string;
  /** When the rules were first created (RFC 3339): no pass can be missed before then. */
  readonly createdAt: string;
}

/** One scheduled query rule, as plain data (the tests read these without mocks). */
export interface AlertRule {
  /** Logical name suffix and the key docs/operations.md explains it under. */
  readonly key: string;
  readonly displayName: string;
  /** What it means and what to do; Azure puts it in the mail. */
  readonly description: string;
  /** 0 (critical) to 4 (verbose). */
  readonly severity: number;
  /** ISO 8601: how often the query runs, and how far back it looks. */
  readonly evaluationFrequency: string;
  readonly windowSize: string;
  /** The rule fires when the query returns more rows than the threshold. */
  readonly operator: "GreaterThan";
  readonly threshold: number;
  /**
   * Conditions (nothing completes, passes keep failing) resolve themselves when they clear and
   * mail once; events (a gap, a quarantined blob) mail every window they occur in.
   */
  readonly autoMitigate: boolean;
  readonly query: (context: AlertContext) => string;
}

/**
 * Log search alert rules look back at most two days (Azure Monitor's largest windowSize), which
 * also caps the "no pass" window for intervals over 16 hours: the rule then fires after two days
 * without a pass, sooner than three intervals but never while passes still complete.
 */
export const MAX_WINDOW_MINUTES = 2 * 24 * 60;
/** Rules run every 15 minutes: the cheapest frequency, and soon enough for a daily report. */
export const EVALUATION_MINUTES = 15;
/** How long before the client secret's end date the expiry rule starts mailing. */
export const SECRET_EXPIRY_WARNING_DAYS = 14;

/** An ISO 8601 duration of whole minutes. */
export function isoMinutes(minutes: number): string {
  return minutes % 1440 === 0
    ? `P${minutes / 1440}D`
    : minutes % 60 === 0
      ? `PT${minutes / 60}H`
      : `PT${minutes}M`;
}

/** A KQL string literal (single quotes; a quote or backslash inside is escaped). */
export function kqlString(text: string): string {
  return `'${text.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

/**
 * The console log line of an event, as the runtime writes it: a JSON line with the field
 * `"event":"<value>"` (sync-runtime/contract.ts LOG_EVENTS). `has` uses the term index, so the
 * rule reads only the lines that can match.
 */
export function eventFilter(event: LogEvent): string {
  return `Log_s has ${kqlString(`"event":"${event}"`)}`;
}

/**
 * A table the workspace creates only when the first line arrives. `union isfuzzy=true` with an
 * empty table of the same columns keeps the query valid before that (a brand-new stack, an app
 * that never started), so the rule evaluates to "no rows" instead of failing, which Azure would
 * not mail about.
 */
function logTable(table: string, columns: string): string {
  return `union isfuzzy=true (datatable(${columns})[]), ${table}`;
}

function consoleLog(appName: string): string {
  return [
    logTable(
      "ContainerAppConsoleLogs_CL",
      "TimeGenerated: datetime, ContainerAppName_s: string, Log_s: string",
    ),
    `| where ContainerAppName_s == ${kqlString(appName)}`,
  ].join("\n");
}

/** One rule per event that signals data at risk: each mails whenever it happens. */
function eventRule(
  key: string,
  event: LogEvent,
  displayName: string,
  description: string,
  severity: number,
): AlertRule {
  return {
    key,
    displayName,
    description,
    severity,
    evaluationFrequency: isoMinutes(EVALUATION_MINUTES),
    windowSize: isoMinutes(EVALUATION_MINUTES),
    operator: "GreaterThan",
    threshold: 0,
    autoMitigate: false,
    query: ({ appName }) =>
      [consoleLog(appName), `| where ${eventFilter(event)}`, "| project TimeGenerated, Log_s"].join(
        "\n",
      ),
  };
}

/**
 * The rules for a stack, by what an admin must hear about: the sync stopped, data was lost or set
 * aside, the platform could not start the app, the client secret is about to expire.
 */
export function alertRules(syncIntervalMinutes: number, withSecret: boolean): AlertRule[] {
  const stallMinutes = Math.min(3 * syncIntervalMinutes, MAX_WINDOW_MINUTES);
  // Room for three pass outcomes: passes start every interval, and a pass may run long.
  const failureMinutes = Math.min(4 * syncIntervalMinutes, MAX_WINDOW_MINUTES);
  const frequency = isoMinutes(EVALUATION_MINUTES);
  const rules: AlertRule[] = [
    {
      key: "no-pass",
      displayName: "coe-audit-sync: no completed pass",
      description: `No sync pass completed in ${stallMinutes} minutes (3 x syncIntervalMinutes, at most 2 days). The Management API keeps content 7 days: find out why within days (docs/operations.md, "no-pass").`,
      severity: 1,
      evaluationFrequency: frequency,
      windowSize: isoMinutes(stallMinutes),
      operator: "GreaterThan",
      threshold: 0,
      autoMitigate: true,
      // One row (the count, 0) when no pass completed in the window, once the window has passed
      // since the rules were created: a new stack is not reported before its first pass could
      // complete, and a stack whose app died keeps firing after its last lines age out.
      query: ({ appName, createdAt }) =>
        [
          consoleLog(appName),
          `| where ${eventFilter(LOG_EVENTS.passCompleted)}`,
          "| summarize completed = count()",
          `| where completed == 0 and now() > datetime(${createdAt}) + ${stallMinutes}m`,
        ].join("\n"),
    },
    {
      key: "passes-failing",
      displayName: "coe-audit-sync: 3 passes failed in a row",
      description:
        'The last three pass outcomes in the window are all failures. Read the pass.failed lines for the error and its fix (docs/operations.md, "passes-failing").',
      severity: 1,
      evaluationFrequency: frequency,
      windowSize: isoMinutes(failureMinutes),
      operator: "GreaterThan",
      threshold: 0,
      autoMitigate: true,
      // "In a row" as far as the window shows: the three latest outcome lines (completed or
      // failed), one row if all three are failures. Fewer than three outcomes in the window
      // (the app stopped) is the no-pass rule's case.
      query: ({ appName }) =>
        [
          consoleLog(appName),
          `| where ${eventFilter(LOG_EVENTS.passCompleted)} or ${eventFilter(LOG_EVENTS.passFailed)}`,
          `| extend failed = ${eventFilter(LOG_EVENTS.passFailed)}`,
          "| top 3 by TimeGenerated desc",
          "| summarize outcomes = count(), failures = countif(failed)",
          "| where outcomes == 3 and failures == 3",
        ].join("\n"),
    },
    eventRule(
      "gap",
      LOG_EVENTS.gapRecorded,
      "coe-audit-sync: audit records lost",
      'A gap was recorded: an interval older than the source holds, or content that expired before it was fetched. Those records are lost from the Management API; read them from Microsoft Graph or Purview if the tenant still has them (docs/operations.md, "gap").',
      1,
    ),
    eventRule(
      "quarantine",
      LOG_EVENTS.contentQuarantined,
      "coe-audit-sync: content set aside",
      'A content blob could not be read and was kept in the quarantine container with its reason (docs/operations.md, "quarantine").',
      2,
    ),
    eventRule(
      "listing-cut",
      LOG_EVENTS.listingCut,
      "coe-audit-sync: content listing cut short",
      'A listing page could not be followed; the next pass lists the interval again (docs/operations.md, "listing-cut").',
      2,
    ),
    eventRule(
      "dataverse-rejected",
      LOG_EVENTS.dataverseRejected,
      "coe-audit-sync: Dataverse refused a row",
      'Dataverse refused a row for good; it is kept with the dead letters (docs/operations.md, "dataverse-rejected").',
      2,
    ),
    {
      key: "platform",
      displayName: "coe-audit-sync: the app cannot start",
      description:
        'The Container App\'s system log shows a failed revision, an image that cannot be pulled or a Key Vault reference that cannot be resolved (docs/operations.md, "platform").',
      severity: 1,
      evaluationFrequency: frequency,
      windowSize: frequency,
      operator: "GreaterThan",
      threshold: 0,
      autoMitigate: false,
      // Text patterns of the platform's messages (learn.microsoft.com, "Troubleshoot common
      // deployment failures in Azure Container Apps": image pull, revision and Key Vault
      // reference failures), matched case-insensitively in the reason and the message.
      query: ({ appName }) =>
        [
          logTable(
            "ContainerAppSystemLogs_CL",
            "TimeGenerated: datetime, ContainerAppName_s: string, Reason_s: string, Log_s: string",
          ),
          `| where ContainerAppName_s == ${kqlString(appName)}`,
          "| where Reason_s has_any ('Failed', 'BackOff', 'ErrImagePull') or Log_s has_any ('Failed to provision revision', 'ImagePullBackOff', 'ErrImagePull', 'pull image', 'Key Vault', 'KeyVault', 'secret reference')",
          "| project TimeGenerated, Reason_s, Log_s",
        ].join("\n"),
    },
  ];
  if (withSecret) {
    // The end date is known to the program (it sets it), and the rule is a dependent of the
    // rotation: the rotation's targeted update rewrites it with the new end date. Nothing in the
    // workspace records the date (the runtime no longer reads the secret), so the query compares
    // that constant with now() and returns a row from 14 days before the end.
    rules.push({
      key: "secret-expiry",
      displayName: "coe-audit-sync: client secret expires soon",
      description: `The app's client secret (kept for the CoE flows) expires within ${SECRET_EXPIRY_WARNING_DAYS} days. Run the rotation (pulumi stack output clientSecretRotationCommand; docs/deploy.md).`,
      severity: 2,
      evaluationFrequency: "P1D",
      windowSize: "P1D",
      operator: "GreaterThan",
      threshold: 0,
      autoMitigate: false,
      query: ({ secretEndDate }) =>
        [
          `print expiresAt = datetime(${secretEndDate ?? ""})`,
          `| where expiresAt < now() + ${SECRET_EXPIRY_WARNING_DAYS}d`,
        ].join("\n"),
    });
  }
  return rules;
}

/**
 * An action group that mails the admins, and a scheduled query rule over the stack's workspace
 * for each thing that would otherwise fail silently (alertRules).
 */
export class SyncAlerts extends pulumi.ComponentResource {
  /** ARM id of the action group. */
  public readonly actionGroupId: pulumi.Output<string>;
  /** Names of the rules, by key. */
  public readonly ruleNames: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: SyncAlertsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("coe-audit-sync:index:SyncAlerts", name, {}, opts);

    const group = new monitor.ActionGroup(
      `${name}-mail`,
      {
        resourceGroupName: args.resourceGroupName,
        // Action groups are global resources in every cloud.
        location: "Global",
        groupShortName: "coe-audit",
        enabled: true,
        emailReceivers: args.emails.map((emailAddress, i) => ({
          name: `admin-${i + 1}`,
          emailAddress,
          useCommonAlertSchema: true,
        })),
      },
      { parent: this },
    );

    // The time the rules were first created, stored once (a later `pulumi up` keeps it).
    const created = new time.Static(`${name}-created`, {}, { parent: this });
    const withSecret = args.clientSecretEndDate !== undefined;
    const rules = alertRules(args.syncIntervalMinutes, withSecret).map((rule) => {
      const query = pulumi
        .all([args.containerAppName, args.clientSecretEndDate, created.rfc3339])
        .apply(([appName, secretEndDate, createdAt]) =>
          rule.query({ appName, secretEndDate, createdAt }),
        );
      const scheduled = new monitor.ScheduledQueryRule(
        `${name}-${rule.key}`,
        {
          resourceGroupName: args.resourceGroupName,
          location: args.location,
          kind: "LogAlert",
          displayName: rule.displayName,
          description: rule.description,
          severity: rule.severity,
          enabled: true,
          scopes: [args.workspaceId],
          evaluationFrequency: rule.evaluationFrequency,
          windowSize: rule.windowSize,
          autoMitigate: rule.autoMitigate,
          // Azure validates a query against the workspace when the rule is created, and a new
          // workspace has none of the Container App tables yet; the queries stay valid without
          // them (the fuzzy unions above).
          skipQueryValidation: true,
          criteria: {
            allOf: [
              {
                query,
                timeAggregation: "Count",
                operator: rule.operator,
                threshold: rule.threshold,
                failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 },
              },
            ],
          },
          actions: { actionGroups: [group.id] },
        },
        { parent: this },
      );
      return [rule.key, scheduled.name] as const;
    });

    this.actionGroupId = group.id;
    this.ruleNames = pulumi
      .all(rules.map(([key, ruleName]) => ruleName.apply((n) => [key, n] as const)))
      .apply((pairs) => Object.fromEntries(pairs));

    this.registerOutputs({ actionGroupId: this.actionGroupId, ruleNames: this.ruleNames });
  }
}
