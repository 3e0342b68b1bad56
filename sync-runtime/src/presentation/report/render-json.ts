/**
 * `report --format json`: the usage report contract, byte-stable. Objects are rebuilt field by
 * field so the key order is the contract's whatever order the caller built them in, and fields
 * outside the contract never leak into the output.
 */
import type { AppUsage, InactiveApp, UsageReport } from "../../domain/usage-report";

function contractApp(app: AppUsage): AppUsage {
  return {
    appId: app.appId,
    appName: app.appName,
    environmentId: app.environmentId,
    launches: app.launches,
    uniqueUsers: app.uniqueUsers,
    lastLaunchedAt: app.lastLaunchedAt,
    lastLaunchedBy: app.lastLaunchedBy,
    deleted: app.deleted,
  };
}

function contractInactiveApp(app: InactiveApp): InactiveApp {
  return {
    appId: app.appId,
    appName: app.appName,
    environmentId: app.environmentId,
    lastLaunchedAt: app.lastLaunchedAt,
    lastLaunchedBy: app.lastLaunchedBy,
  };
}

/**
 * 2-space indented JSON with a trailing newline, keys in the order from, to, apps, daily,
 * staleDays, inactiveApps; the optional ones only when the report carries them.
 */
export function renderJson(report: UsageReport): string {
  const contract: UsageReport = {
    from: report.from,
    to: report.to,
    apps: report.apps.map(contractApp),
  };
  if (report.daily !== undefined) {
    contract.daily = report.daily.map((day) => ({ date: day.date, launches: day.launches }));
  }
  if (report.staleDays !== undefined) contract.staleDays = report.staleDays;
  if (report.inactiveApps !== undefined) {
    contract.inactiveApps = report.inactiveApps.map(contractInactiveApp);
  }
  return `${JSON.stringify(contract, null, 2)}\n`;
}
