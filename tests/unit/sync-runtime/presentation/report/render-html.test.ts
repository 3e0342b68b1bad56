import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { renderReport } from "../../../../../sync-runtime/src/presentation/report/render";
import type { UsageReport } from "../../../../../sync-runtime/src/domain/usage-report";
import { HOSTILE_NAMES, generateReport, withInactiveApps } from "./report-fixture";

function openingTags(html: string): string[] {
  return html.match(/<[a-zA-Z][^>]*>/g) ?? [];
}

function sha256(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("base64");
}

describe("renderReport html (static checks; the browser test renders it)", () => {
  const report: UsageReport = generateReport({ seed: 31, extraNames: HOSTILE_NAMES });
  const html = renderReport(report, "html", { title: "Contoso <Power> Apps" });

  it("escapes hostile app names everywhere: no injected element or event attribute", () => {
    expect(html.match(/<script/g)).toHaveLength(1);
    expect(html).not.toMatch(/<img/i);
    for (const tag of openingTags(html)) expect(tag).not.toMatch(/\son\w+\s*=/i);
    expect(html).toContain("&lt;script&gt;window.__xss = &quot;script&quot;&lt;/script&gt;");
    expect(html).toContain("<title>Contoso &lt;Power&gt; Apps</title>");
  });

  it("is self-contained: nothing to fetch from anywhere", () => {
    for (const tag of openingTags(html)) expect(tag).not.toMatch(/\s(src|href|srcset|action)\s*=/i);
    expect(html).not.toMatch(/url\(|@import|<link|<iframe|<object|<embed/i);
  });

  it("allows exactly its own inline style and script through the Content-Security-Policy", () => {
    const style = html.match(/<style>([\s\S]*?)<\/style>/)?.[1] ?? "";
    const script = html.match(/<script>([\s\S]*?)<\/script>/)?.[1] ?? "";
    const csp = html.match(/http-equiv="Content-Security-Policy" content="([^"]*)"/)?.[1] ?? "";
    expect(csp).toContain("default-src &#39;none&#39;");
    expect(csp).toContain(`style-src &#39;sha256-${sha256(style)}&#39;`);
    expect(csp).toContain(`script-src &#39;sha256-${sha256(script)}&#39;`);
  });

  it("says the report has no per-day figures when daily is absent", () => {
    const withoutDaily = renderReport({ ...report, daily: undefined }, "html");
    expect(withoutDaily).toContain(`data-testid="daily-missing"`);
    expect(withoutDaily).not.toContain(`data-testid="daily-chart"`);
    expect(html).toContain(`data-testid="daily-chart"`);
  });

  it("explains when the window is too short to show apps idle for staleDays", () => {
    const week = generateReport({ seed: 32, days: 7, idleApps: 0 });
    const dashboard = renderReport(week, "html", { staleDays: 30 });
    expect(dashboard).toContain("This report covers 7 days, fewer than 30");
    expect(dashboard).not.toContain(`data-testid="stale-app"`);
  });

  it("renders an empty window without charts, and says so", () => {
    const empty = renderReport({ from: report.from, to: report.to, apps: [] }, "html");
    expect(empty).toContain("No Power Apps launches or deletions in this window.");
    expect(empty).not.toContain(`data-testid="chart-bar"`);
    expect(empty).not.toContain(`data-testid="app-row"`);
  });
});

describe("renderReport html stale section with inactiveApps", () => {
  const week = generateReport({ seed: 33, days: 7, idleApps: 0 });
  const report = withInactiveApps(week, { staleDays: 3, count: 4, extraNames: HOSTILE_NAMES });
  const html = renderReport(report, "html");
  const section = html.slice(
    html.indexOf(`data-testid="stale"`),
    html.indexOf(`data-testid="deleted"`),
  );

  it("lists every inactive app (all time) with its idle days, not the window fallback", () => {
    expect(section).toContain(`data-source="all-time"`);
    expect(section).toContain("Not launched for 3 days");
    expect(section).not.toContain("fewer than");
    const rows = section.match(/data-testid="stale-app"/g) ?? [];
    expect(rows).toHaveLength(report.inactiveApps.length);
    const idle = [...section.matchAll(/data-testid="stale-idle-days">([^<]*)</g)].map((m) => m[1]);
    expect(idle).toEqual(
      report.inactiveApps.map((app) =>
        app.lastLaunchedAt === null
          ? "never launched"
          : Math.floor(
              (Date.parse(report.to) - Date.parse(app.lastLaunchedAt)) / 86_400_000,
            ).toLocaleString("en-US"),
      ),
    );
    expect(html).toMatch(
      new RegExp(
        `data-testid="figure-stale"><dt>Not launched for 3\\+ days</dt><dd>${report.inactiveApps.length}</dd>`,
      ),
    );
  });

  it("escapes hostile names in the stale section", () => {
    expect(html.match(/<script/g)).toHaveLength(1);
    expect(html).not.toMatch(/<img/i);
    for (const tag of openingTags(section)) expect(tag).not.toMatch(/\son\w+\s*=/i);
    expect(section).toContain("&lt;script&gt;window.__xss = &quot;script&quot;&lt;/script&gt;");
  });

  it("falls back to the window's apps when the report has no inactiveApps", () => {
    const fallback = renderReport(week, "html", { staleDays: 30 });
    expect(fallback).toContain(`data-source="window"`);
    expect(fallback).toContain("This report covers 7 days, fewer than 30");
  });
});
