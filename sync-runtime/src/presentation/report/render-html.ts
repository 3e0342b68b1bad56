/**
 * `report --format html`: the admin's dashboard as ONE self-contained file that can be mailed,
 * stored in the storage account and opened offline: inline CSS, inline SVG charts and a few lines
 * of inline script (a filter for the full table); nothing is fetched. A Content-Security-Policy
 * allows only the exact inline style and script (by hash), so even a name that escaped escaping
 * could neither run script nor load anything.
 */
import { createHash } from "node:crypto";
import { escapeHtml } from "./render-escape";
import {
  appLabel,
  dailySeries,
  summarizeReport,
  topAppsByLaunches,
  topAppsByUsers,
  type ReportSummary,
} from "./render-summary";
import { columnChart, horizontalBarChart, type Bar } from "./render-svg";
import { NULL_MARK, formatCount, formatUtcDateTime } from "./render-text";
import type { AppUsage, UsageReport } from "../../domain/usage-report";

/** How many apps the two "top apps" charts show. */
export const TOP_APPS = 10;

const STYLE = `
:root { color-scheme: light dark; --bg: #f6f7f9; --card: #fff; --text: #1d2433; --muted: #5b6475;
  --line: #e2e5eb; --accent: #3b5bdb; --accent2: #0c8599; --warn: #c2410c; --danger: #c92a2a; }
@media (prefers-color-scheme: dark) { :root { --bg: #12151c; --card: #1b202a; --text: #e7eaf0;
  --muted: #9aa3b5; --line: #2c3340; --accent: #7b93f5; --accent2: #3bc9db; --warn: #fb923c;
  --danger: #ff8787; } }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
header, main { max-width: 1320px; margin: 0 auto; padding: 0 20px; }
header { padding-top: 28px; }
h1 { margin: 0 0 4px; font-size: 1.6rem; }
h2 { margin: 0 0 12px; font-size: 1.1rem; }
.window { margin: 0 0 20px; color: var(--muted); }
.figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(180px, 1fr)); gap: 12px;
  margin: 0 0 20px; }
.figure { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 14px 16px; }
.figure dt { color: var(--muted); font-size: .85rem; }
.figure dd { margin: 2px 0 0; font-size: 1.7rem; font-weight: 600; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(460px, 100%), 1fr)); gap: 16px; }
section.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px;
  padding: 16px 18px; margin: 0 0 16px; overflow-x: auto; }
.note { color: var(--muted); margin: 0 0 10px; font-size: .9rem; }
.chart { display: block; max-width: 100%; height: auto; font-size: 12px; }
/* The per-day chart stretches to its card (its viewBox keeps the proportions). */
.chart.wide { width: 100%; }
.chart text { fill: var(--text); }
.chart text.axis, .chart text.value { fill: var(--muted); }
.chart rect { fill: var(--accent); }
#users-chart rect { fill: var(--accent2); }
.chart .bar:hover rect { opacity: .8; }
.chart .baseline { stroke: var(--muted); }
.chart .grid { stroke: var(--line); stroke-dasharray: 2 3; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
caption { text-align: left; color: var(--muted); padding-bottom: 8px; }
th, td { padding: 6px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
thead th { font-size: .8rem; text-transform: uppercase; letter-spacing: .03em; color: var(--muted); }
tbody th { font-weight: 500; }
td.num, time { white-space: nowrap; }
/* Long names, UPNs and ids wrap inside their cell, so every column stays in view (no cut columns). */
tbody th, tbody td { overflow-wrap: anywhere; }
td.id { word-break: break-all; min-width: 10ch; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.id { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .8rem; color: var(--muted); }
/* A badge is one word: never broken inside it, whatever the cell's wrapping rules. */
.tag { display: inline-block; padding: 0 8px; border-radius: 999px; font-size: .8rem; font-weight: 600;
  white-space: nowrap; overflow-wrap: normal; word-break: normal; }
.tag.deleted { color: var(--danger); border: 1px solid var(--danger); }
ul.apps { margin: 0; padding-left: 20px; }
.empty { color: var(--muted); font-style: italic; margin: 0; }
.filter { margin: 0 0 10px; display: flex; gap: 10px; align-items: center; flex-wrap: wrap; }
.filter input { font: inherit; padding: 4px 8px; border: 1px solid var(--line); border-radius: 6px;
  background: var(--bg); color: var(--text); min-width: 240px; }
footer { max-width: 1320px; margin: 0 auto; padding: 8px 20px 28px; color: var(--muted); font-size: .8rem; }
`;

// Hides the rows that do not match the filter; the filter box is shown only when script runs.
const SCRIPT = `
(() => {
  const box = document.getElementById("filter");
  const input = document.getElementById("filter-input");
  const status = document.getElementById("filter-status");
  const rows = Array.from(document.querySelectorAll("#apps-table tbody tr"));
  box.hidden = false;
  input.addEventListener("input", () => {
    const query = input.value.trim().toLowerCase();
    let shown = 0;
    for (const row of rows) {
      const match = query === "" || row.textContent.toLowerCase().includes(query);
      row.hidden = !match;
      if (match) shown++;
    }
    status.textContent = shown + " of " + rows.length + " apps shown";
  });
})();
`;

function sha256(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("base64");
}

const CSP = [
  "default-src 'none'",
  `style-src 'sha256-${sha256(STYLE)}'`,
  `script-src 'sha256-${sha256(SCRIPT)}'`,
  "img-src data:",
  "base-uri 'none'",
  "form-action 'none'",
].join("; ");

function time(iso: string | null): string {
  if (iso === null) return NULL_MARK;
  return `<time datetime="${escapeHtml(iso)}">${escapeHtml(formatUtcDateTime(iso))}</time>`;
}

function text(value: string | null): string {
  return value === null ? NULL_MARK : escapeHtml(value);
}

function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${formatCount(count)} ${count === 1 ? singular : pluralForm}`;
}

function figure(testId: string, label: string, value: string): string {
  return `<div class="figure" data-testid="${testId}"><dt>${escapeHtml(label)}</dt><dd>${escapeHtml(value)}</dd></div>`;
}

function summarySection(report: UsageReport, summary: ReportSummary): string {
  return (
    `<section aria-labelledby="summary-heading" data-testid="summary">` +
    `<h2 id="summary-heading">Summary</h2>` +
    `<dl class="figures">` +
    figure("figure-apps", "Apps used or deleted", formatCount(summary.appCount)) +
    figure("figure-launches", "Launches", formatCount(summary.totalLaunches)) +
    figure("figure-deleted", "Deleted apps", formatCount(summary.deletedApps.length)) +
    figure(
      "figure-stale",
      `Not launched for ${formatCount(summary.stale.staleDays)}+ days`,
      summary.stale.windowCoversCutoff ? formatCount(summary.stale.apps.length) : NULL_MARK,
    ) +
    `</dl>` +
    (report.apps.length === 0
      ? `<p class="empty">No Power Apps launches or deletions in this window.</p>`
      : "") +
    `</section>`
  );
}

function topChartsSection(report: UsageReport): string {
  const byLaunches = topAppsByLaunches(report, TOP_APPS);
  const byUsers = topAppsByUsers(report, TOP_APPS);
  const launchBars: Bar[] = byLaunches.map((app) => ({
    label: appLabel(app),
    value: app.launches,
    tooltip: `${appLabel(app)}: ${plural(app.launches, "launch", "launches")}`,
  }));
  const userBars: Bar[] = byUsers.map((app) => ({
    label: appLabel(app),
    value: app.uniqueUsers,
    tooltip: `${appLabel(app)}: ${plural(app.uniqueUsers, "unique user")}`,
  }));
  const chartCard = (
    id: string,
    heading: string,
    bars: Bar[],
    describe: string,
    testId: string,
  ): string =>
    `<section class="card" aria-labelledby="${id}-heading" data-testid="${testId}">` +
    `<h2 id="${id}-heading">${escapeHtml(heading)}</h2>` +
    (bars.length === 0
      ? `<p class="empty">No launches in this window.</p>`
      : `<div id="${id}">${horizontalBarChart(bars, {
          id: `${id}-svg`,
          title: heading,
          description: describe,
          testId: `${testId}-chart`,
        })}</div>`) +
    `</section>`;
  const describeBars = (bars: Bar[]) => bars.map((bar) => bar.tooltip).join("; ");
  return (
    `<div class="grid">` +
    chartCard(
      "launches-chart",
      `Top ${bars(launchBars)} by launches`,
      launchBars,
      describeBars(launchBars),
      "top-launches",
    ) +
    chartCard(
      "users-chart",
      `Top ${bars(userBars)} by unique users`,
      userBars,
      describeBars(userBars),
      "top-users",
    ) +
    `</div>`
  );
}

function bars(list: Bar[]): string {
  return list.length === 1 ? "app" : `${list.length} apps`;
}

function dailySection(report: UsageReport): string {
  const series = dailySeries(report);
  const body =
    series.length === 0
      ? `<p class="empty" data-testid="daily-missing">This report has no per-day figures.</p>`
      : columnChart(
          series.map((day) => ({
            label: day.date.slice(5),
            value: day.launches,
            tooltip: `${day.date}: ${plural(day.launches, "launch", "launches")}`,
          })),
          {
            id: "daily-svg",
            title: "Launches per day (UTC)",
            description: series
              .map((day) => `${day.date}: ${formatCount(day.launches)}`)
              .join("; "),
            testId: "daily-chart",
          },
        );
  return (
    `<section class="card" aria-labelledby="daily-heading" data-testid="daily">` +
    `<h2 id="daily-heading">Launches per day (UTC)</h2>${body}</section>`
  );
}

function staleSection(summary: ReportSummary): string {
  const { stale } = summary;
  const days = formatCount(stale.staleDays);
  const explanation =
    stale.source === "all-time"
      ? `Every app this service has seen since it started syncing, not deleted, whose last launch ` +
        `ever is on or before ${formatUtcDateTime(stale.cutoff)} (or that was never launched).`
      : stale.windowCoversCutoff
        ? `Apps still present whose last launch in this report is on or before ${formatUtcDateTime(stale.cutoff)}.`
        : `This report covers ${formatCount(Math.round(summary.windowDays * 10) / 10)} days, fewer than ` +
          `${days}: it only holds apps active in its window, so it cannot show an ` +
          `app idle for ${days} days. Run the report over at least ` +
          `${days} days (report --days ${formatCount(Math.ceil(stale.staleDays))}), or choose fewer stale days.`;
  const allTime = stale.source === "all-time";
  const lastColumn = allTime ? `<th scope="col">Days idle</th>` : `<th scope="col">Launches</th>`;
  const list =
    stale.apps.length === 0
      ? `<p class="empty">None.</p>`
      : `<table data-testid="stale-table"><caption>${plural(stale.apps.length, "app")}, longest idle first</caption>` +
        `<thead><tr><th scope="col">App</th><th scope="col">Environment</th><th scope="col">Last launch</th>` +
        `<th scope="col">Last launched by</th>${lastColumn}</tr></thead><tbody>` +
        stale.apps
          .map(
            (app) =>
              `<tr data-testid="stale-app"><th scope="row">${escapeHtml(appLabel(app))}</th>` +
              `<td class="id">${text(app.environmentId)}</td><td>${time(app.lastLaunchedAt)}</td>` +
              `<td>${text(app.lastLaunchedBy)}</td>` +
              (allTime
                ? `<td class="num" data-testid="stale-idle-days">${app.idleDays === null ? "never launched" : formatCount(app.idleDays)}</td>`
                : `<td class="num">${formatCount(app.launches ?? 0)}</td>`) +
              `</tr>`,
          )
          .join("") +
        `</tbody></table>`;
  return (
    `<section class="card" aria-labelledby="stale-heading" data-testid="stale" data-source="${stale.source}">` +
    `<h2 id="stale-heading">Not launched for ${days} days</h2>` +
    `<p class="note">${escapeHtml(explanation)}</p>${list}</section>`
  );
}

function deletedSection(summary: ReportSummary): string {
  const list =
    summary.deletedApps.length === 0
      ? `<p class="empty">No app was deleted in this window.</p>`
      : `<ul class="apps">` +
        summary.deletedApps
          .map(
            (app) =>
              `<li data-testid="deleted-app"><strong>${escapeHtml(appLabel(app))}</strong> ` +
              `<span class="id">${escapeHtml(app.appId)}</span>` +
              (app.launches > 0
                ? ` (${plural(app.launches, "launch", "launches")} before deletion)`
                : "") +
              `</li>`,
          )
          .join("") +
        `</ul>`;
  return (
    `<section class="card" aria-labelledby="deleted-heading" data-testid="deleted">` +
    `<h2 id="deleted-heading">Deleted apps</h2>${list}</section>`
  );
}

function appRow(app: AppUsage, index: number): string {
  return (
    `<tr data-testid="app-row">` +
    `<td class="num">${index + 1}</td>` +
    `<th scope="row">${text(app.appName)}</th>` +
    `<td class="id">${escapeHtml(app.appId)}</td>` +
    `<td class="id">${text(app.environmentId)}</td>` +
    `<td class="num">${formatCount(app.launches)}</td>` +
    `<td class="num">${formatCount(app.uniqueUsers)}</td>` +
    `<td>${time(app.lastLaunchedAt)}</td>` +
    `<td>${text(app.lastLaunchedBy)}</td>` +
    `<td>${app.deleted ? `<span class="tag deleted">deleted</span>` : "no"}</td>` +
    `</tr>`
  );
}

function tableSection(report: UsageReport): string {
  return (
    `<section class="card" aria-labelledby="table-heading" data-testid="all-apps">` +
    `<h2 id="table-heading">All apps</h2>` +
    `<div class="filter" id="filter" hidden><label for="filter-input">Filter apps</label>` +
    `<input id="filter-input" type="search" autocomplete="off">` +
    `<span id="filter-status" aria-live="polite"></span></div>` +
    `<table id="apps-table" data-testid="apps-table">` +
    `<caption>${plural(report.apps.length, "app")}, by launches</caption>` +
    `<thead><tr><th scope="col">#</th><th scope="col">App</th><th scope="col">App id</th>` +
    `<th scope="col">Environment</th><th scope="col">Launches</th><th scope="col">Unique users</th>` +
    `<th scope="col">Last launch</th><th scope="col">Last launched by</th><th scope="col">Deleted</th></tr></thead>` +
    `<tbody>${report.apps.map(appRow).join("")}</tbody></table></section>`
  );
}

export function renderHtml(
  report: UsageReport,
  options: { title: string; staleDays: number },
): string {
  const summary = summarizeReport(report, options.staleDays);
  const windowText =
    `${formatUtcDateTime(report.from)} to ${formatUtcDateTime(report.to)} ` +
    `(${formatCount(Math.round(summary.windowDays * 10) / 10)} days)`;
  return [
    "<!doctype html>",
    `<html lang="en">`,
    "<head>",
    `<meta charset="utf-8">`,
    `<meta name="viewport" content="width=device-width, initial-scale=1">`,
    `<meta http-equiv="Content-Security-Policy" content="${escapeHtml(CSP)}">`,
    `<title>${escapeHtml(options.title)}</title>`,
    `<style>${STYLE}</style>`,
    "</head>",
    "<body>",
    `<header><h1 data-testid="title">${escapeHtml(options.title)}</h1>` +
      `<p class="window" data-testid="window">Power Apps launches and deletions from the Microsoft 365 audit log, ` +
      `${escapeHtml(windowText)}</p></header>`,
    "<main>",
    summarySection(report, summary),
    topChartsSection(report),
    dailySection(report),
    staleSection(summary),
    deletedSection(summary),
    tableSection(report),
    "</main>",
    `<footer>Generated by coe-audit-sync from the usage report; times are UTC. ` +
      `Unique users are counted per app and are not added up across apps.</footer>`,
    `<script>${SCRIPT}</script>`,
    "</body>",
    "</html>",
    "",
  ].join("\n");
}
