/**
 * The demo's honest comparison with the ground truth: which window to compare, and where a
 * report and the ground truth differ. Pure, so the rules are easy to read and to test.
 */
import type { InactiveApp, TruthWindow, UsageReport } from "../emulator/index";

const MINUTE = 60_000;

/**
 * The longest window [from, to) on whole minutes whose every record had been listed before
 * `listedBefore` (the end of what the backfill listed; it listed at or after that moment).
 * Records arrive 60–90 minutes after the event and some up to 12 hours late, so the last hours
 * before now are still incomplete in any client, and comparing them would be unfair either way.
 * `completeAt` is the emulator's windowCompleteAt: when a window's last record is first listed.
 */
export function completeWindow(
  from: Date,
  listedBefore: Date,
  completeAt: (window: TruthWindow) => Date | null,
): TruthWindow {
  const isComplete = (toMs: number) => {
    const at = completeAt({ from, to: new Date(toMs) });
    return at === null || at.getTime() < listedBefore.getTime();
  };
  // completeAt only grows as the window grows, so a binary search over minutes finds the edge.
  let lo = 0; // minutes after `from` known complete (the empty window)
  let hi = Math.floor((listedBefore.getTime() - from.getTime()) / MINUTE);
  if (hi < 0) throw new Error("completeWindow: listedBefore is before from");
  if (isComplete(from.getTime() + hi * MINUTE)) lo = hi;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (isComplete(from.getTime() + mid * MINUTE)) lo = mid;
    else hi = mid;
  }
  return { from, to: new Date(from.getTime() + lo * MINUTE) };
}

/**
 * Every difference between a runtime report and the ground truth of the same window, field by
 * field ([] when they agree). `daily` is compared on the days with launches: the report may list
 * days without any.
 */
export function reportDifferences(report: UsageReport, truth: UsageReport): string[] {
  const diffs: string[] = [];
  if (report.from !== truth.from || report.to !== truth.to) {
    diffs.push(`window: report ${report.from}..${report.to}, truth ${truth.from}..${truth.to}`);
  }
  const reported = new Map(report.apps.map((a) => [a.appId, a]));
  const expected = new Map(truth.apps.map((a) => [a.appId, a]));
  for (const [appId, want] of expected) {
    const got = reported.get(appId);
    if (!got) {
      diffs.push(`app ${appId} (${want.appName ?? "no name"}): missing from the report`);
      continue;
    }
    for (const field of Object.keys(want) as (keyof typeof want)[]) {
      if (got[field] !== want[field]) {
        diffs.push(
          `app ${appId} ${field}: report ${JSON.stringify(got[field])}, truth ${JSON.stringify(want[field])}`,
        );
      }
    }
  }
  for (const appId of reported.keys()) {
    if (!expected.has(appId)) diffs.push(`app ${appId}: in the report but not in the ground truth`);
  }
  const order = (r: UsageReport) => r.apps.map((a) => a.appId).join(",");
  if (diffs.length === 0 && order(report) !== order(truth)) {
    diffs.push("apps are in a different order (launches descending, then appId)");
  }
  if (truth.daily) {
    const days = new Map<string, number>();
    for (const d of report.daily ?? []) if (d.launches > 0) days.set(d.date, d.launches);
    for (const d of truth.daily) {
      if (days.get(d.date) !== d.launches)
        diffs.push(`launches on ${d.date}: report ${days.get(d.date) ?? 0}, truth ${d.launches}`);
      days.delete(d.date);
    }
    for (const [date, launches] of days)
      diffs.push(`launches on ${date}: report ${launches}, truth 0`);
  }
  return diffs;
}

/**
 * Every difference between the report's inactiveApps and the emulator's expectation, app by app
 * and field by field, then their order ([] when they agree). A report without the list differs.
 */
export function inactiveDifferences(
  reported: readonly InactiveApp[] | undefined,
  expected: readonly InactiveApp[],
): string[] {
  if (reported === undefined) return ["inactiveApps: missing from the report"];
  const diffs: string[] = [];
  const got = new Map(reported.map((a) => [a.appId, a]));
  const want = new Map(expected.map((a) => [a.appId, a]));
  for (const [appId, app] of want) {
    const other = got.get(appId);
    if (!other) {
      diffs.push(`inactive app ${appId} (${app.appName ?? "no name"}): missing from the report`);
      continue;
    }
    for (const field of Object.keys(app) as (keyof InactiveApp)[]) {
      if (other[field] !== app[field]) {
        diffs.push(
          `inactive app ${appId} ${field}: report ${JSON.stringify(other[field])}, expected ${JSON.stringify(app[field])}`,
        );
      }
    }
  }
  for (const appId of got.keys()) {
    if (!want.has(appId)) diffs.push(`inactive app ${appId}: in the report but not expected`);
  }
  const order = (list: readonly InactiveApp[]) => list.map((a) => a.appId).join(",");
  if (diffs.length === 0 && order(reported) !== order(expected)) {
    diffs.push("inactive apps are in a different order (longest idle first, then appId)");
  }
  return diffs;
}
