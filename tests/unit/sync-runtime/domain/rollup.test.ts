import { describe, expect, it } from "vitest";
import {
  reportFromRollups,
  rollUp,
  rollupsCoverDay,
  type AppDayRollup,
} from "../../../../sync-runtime/src/domain/rollup";
import { aggregateUsage, daysOf, type EventRow } from "../../../../sync-runtime/src/domain/usage";

/** A small seeded generator, so a failing case can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const START = Date.parse("2026-05-14T00:00:00Z");
const HOUR = 3_600_000;

/** Events over 6 days: few apps and users so that users repeat across days and names change. */
function events(seed: number, count: number): EventRow[] {
  const next = random(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)]!;
  const rows: EventRow[] = [];
  for (let i = 0; i < count; i++) {
    // Whole seconds, as the API writes CreationTime, so ties (broken by record Id) happen.
    const at = START + Math.floor(next() * 6 * 24 * 3600) * 1000;
    rows.push({
      kind: next() < 0.05 ? "delete" : "launch",
      recordId: `r${i}`,
      creationTime: new Date(at).toISOString(),
      appId: pick(["app-a", "app-b", "app-c", "app-d"]),
      appName: next() < 0.3 ? null : pick(["Name 1", "Name 2"]),
      environmentId: next() < 0.3 ? null : pick(["env-1", "env-2"]),
      userUpn: next() < 0.1 ? null : pick(["Amber@x.com", "amber@X.com", "bo@x.com", "cy@x.com"]),
    });
  }
  // The same record stored twice must count once: repeat some rows verbatim.
  return [...rows, ...rows.slice(0, Math.floor(count / 10))];
}

/** What the runtime does: one stored rollup set per day; a day they do not cover is re-read. */
function reportAsStored(rows: EventRow[], window: { from: Date; to: Date }) {
  const byDay = new Map<string, EventRow[]>();
  for (const r of rows) {
    const day = r.creationTime.slice(0, 10);
    byDay.set(day, [...(byDay.get(day) ?? []), r]);
  }
  const used: AppDayRollup[] = [];
  for (const day of daysOf(window.from, window.to)) {
    const dayRows = byDay.get(day) ?? [];
    const stored = rollUp(dayRows);
    used.push(...(rollupsCoverDay(day, stored, window) ? stored : rollUp(dayRows, window)));
  }
  return reportFromRollups(used, window);
}

describe("rollups", () => {
  it("give the report aggregateUsage gives over the events, for whole and partial days", () => {
    for (let seed = 1; seed <= 40; seed++) {
      const rows = events(seed, 300);
      const next = random(seed * 7);
      const from = new Date(START - HOUR + Math.floor(next() * 3 * 24) * HOUR + 1234);
      const to = new Date(from.getTime() + Math.floor(1 + next() * 4 * 24) * HOUR - 77);
      for (const window of [
        { from, to },
        { from: new Date(START), to: new Date(START + 6 * 24 * HOUR) },
      ]) {
        expect(reportAsStored(rows, window), `seed ${seed}`).toEqual(aggregateUsage(rows, window));
      }
    }
  });

  it("count a user who launched on two days once over both (a union, not a sum)", () => {
    const row = (id: string, time: string, upn: string): EventRow => ({
      kind: "launch",
      recordId: id,
      creationTime: time,
      appId: "app-a",
      appName: null,
      environmentId: null,
      userUpn: upn,
    });
    const rollups = rollUp([
      row("1", "2026-05-14T10:00:00.000Z", "Amber@x.com"),
      row("2", "2026-05-15T10:00:00.000Z", "amber@x.com"),
      row("3", "2026-05-15T11:00:00.000Z", "bo@x.com"),
    ]);
    expect(rollups.map((r) => [r.day, r.launches, r.users])).toEqual([
      ["2026-05-14", 1, ["amber@x.com"]],
      ["2026-05-15", 2, ["amber@x.com", "bo@x.com"]],
    ]);
    const report = reportFromRollups(rollups, {
      from: new Date("2026-05-14T00:00:00Z"),
      to: new Date("2026-05-16T00:00:00Z"),
    });
    expect(report.apps[0]).toMatchObject({
      launches: 3,
      uniqueUsers: 2,
      lastLaunchedBy: "bo@x.com",
    });
  });

  it("depend only on the set of events: repeats and order change nothing", () => {
    const rows = events(99, 500);
    const shuffled = [...rows].reverse();
    const byKey = (rs: AppDayRollup[]) =>
      Object.fromEntries(rs.map((r) => [`${r.day}|${r.appId}`, r]));
    expect(byKey(rollUp([...shuffled, ...rows]))).toEqual(byKey(rollUp(rows)));
  });

  it("cover a partial day only when every event they summarise is inside the window", () => {
    const [r] = rollUp([
      {
        kind: "launch",
        recordId: "1",
        creationTime: "2026-05-14T10:00:00.000Z",
        appId: "a",
        appName: null,
        environmentId: null,
        userUpn: null,
      },
    ]);
    const day = "2026-05-14";
    const at = (h: number) => new Date(Date.parse(`${day}T00:00:00Z`) + h * HOUR);
    expect(rollupsCoverDay(day, [r!], { from: at(0), to: at(24) })).toBe(true);
    expect(rollupsCoverDay(day, [r!], { from: at(9), to: at(11) })).toBe(true);
    expect(rollupsCoverDay(day, [r!], { from: at(11), to: at(30) })).toBe(false);
    expect(rollupsCoverDay(day, [r!], { from: at(0), to: at(10) })).toBe(false);
  });
});
