/**
 * `npm run demo -- --dataverse`: what the CoE Power BI dashboard would read from the Dataverse
 * tables the runtime filled, next to the runtime's own report. Launches and unique users per app
 * are counted from admin_auditlogs the way the dashboard does (rows per app, distinct UPNs); the
 * emulator knows each seeded app's last launch and deletion for admin_apps.
 */
import type { RunningDataverse, UsageReport } from "../emulator/index";

export interface CoeComparison {
  auditRows: number;
  rowsWithoutLookup: number;
  appsChecked: number;
  differences: string[];
  /** One line per app: appId, launches and users from admin_auditlogs. */
  lines: string[];
}

export function compareCoeTables(
  dv: RunningDataverse,
  report: UsageReport,
  window: { from: Date; to: Date },
): CoeComparison {
  const [from, to] = [window.from.getTime(), window.to.getTime()];
  const all = dv.rows("admin_auditlogs");
  const rows = all.filter((r) => {
    const t = Date.parse(String(r.admin_creationtime));
    return t >= from && t < to;
  });
  const perApp = new Map<string, { launches: number; users: Set<string> }>();
  for (const r of rows) {
    const id = String(r.admin_appid).toLowerCase();
    const a = perApp.get(id) ?? { launches: 0, users: new Set<string>() };
    a.launches++;
    if (r.admin_userupn) a.users.add(String(r.admin_userupn).toLowerCase());
    perApp.set(id, a);
  }
  const differences: string[] = [];
  const lines: string[] = [];
  const reported = new Map(report.apps.map((a) => [a.appId.toLowerCase(), a]));
  for (const id of new Set([...perApp.keys(), ...reported.keys()])) {
    const fromRows = perApp.get(id) ?? { launches: 0, users: new Set<string>() };
    const fromReport = reported.get(id);
    const [launches, users] = [fromRows.launches, fromRows.users.size];
    lines.push(
      `${id}  ${String(launches).padStart(6)} launches  ${String(users).padStart(5)} users`,
    );
    if (launches !== (fromReport?.launches ?? 0))
      differences.push(
        `${id}: admin_auditlogs has ${launches} launches, the report ${fromReport?.launches ?? 0}`,
      );
    if (users !== (fromReport?.uniqueUsers ?? 0))
      differences.push(
        `${id}: admin_auditlogs has ${users} unique users, the report ${fromReport?.uniqueUsers ?? 0}`,
      );
  }
  const apps = new Map(dv.rows("admin_apps").map((r) => [String(r.admin_appid), r]));
  // Deletions the runtime could have seen: within the compared window (the tenant's history is
  // longer than the 7 days the API serves), and apps never deleted.
  const truth = dv.appTruth().filter((t) => {
    if (t.deletedOn === null) return true;
    const at = Date.parse(t.deletedOn);
    return at >= from && at < to;
  });
  for (const t of truth) {
    const row = apps.get(t.appId);
    if (row?.admin_appdeleted !== t.deleted || (row?.admin_appdeletedon ?? null) !== t.deletedOn)
      differences.push(
        `${t.appId}: admin_apps deletion ${String(row?.admin_appdeletedon ?? "none")}, expected ${t.deletedOn ?? "none"}`,
      );
  }
  return {
    auditRows: all.length,
    rowsWithoutLookup: all.filter((r) => !r._admin_applookup_value).length,
    appsChecked: truth.length,
    differences,
    lines,
  };
}
