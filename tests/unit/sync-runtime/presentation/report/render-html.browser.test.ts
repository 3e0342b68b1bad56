/**
 * The dashboard as an admin sees it: rendered by Debian's Chromium from a file, with its content
 * checked against the report it came from, hostile names inert, and not one network request.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderReport } from "../../../../../sync-runtime/src/presentation/report/render";
import type { AppUsage, UsageReport } from "../../../../../sync-runtime/src/domain/usage-report";
import { launchChromium, skipBrowserTests } from "../../../../helpers/browser";
import { HOSTILE_NAMES, generateReport } from "./report-fixture";

const DAY_MS = 24 * 60 * 60 * 1000;
const STALE_DAYS = 30;

const label = (app: AppUsage) => app.appName ?? app.appId;

describe.skipIf(skipBrowserTests())("HTML dashboard in headless Chromium", () => {
  const report: UsageReport = generateReport({
    seed: 41,
    apps: 30,
    days: 45,
    idleApps: 3,
    deletedApps: 4,
    extraNames: HOSTILE_NAMES,
  });
  let browser: Browser;
  let page: Page;
  let dir: string;
  let fileUrl: string;
  const requests: string[] = [];
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "coe-dashboard-"));
    const file = join(dir, "usage.html");
    await writeFile(file, renderReport(report, "html", { staleDays: STALE_DAYS }));
    fileUrl = pathToFileURL(file).href;
    browser = await launchChromium();
    page = await browser.newPage();
    page.on("request", (request) => requests.push(request.url()));
    page.on("console", (message) => {
      if (message.type() === "error") consoleErrors.push(message.text());
    });
    page.on("pageerror", (error) => consoleErrors.push(error.message));
    await page.goto(fileUrl, { waitUntil: "load" });
  });

  afterAll(async () => {
    await browser?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("shows the top app first, in the chart and the table", async () => {
    const top = report.apps[0];
    if (!top) throw new Error("fixture has no apps");
    const firstName = page.getByTestId("app-row").first().locator("th");
    expect(await firstName.textContent()).toBe(label(top));
    expect(await firstName.isVisible()).toBe(true);
    const firstBar = page.getByTestId("top-launches-chart").getByTestId("chart-bar").first();
    expect(await firstBar.locator("title").textContent()).toBe(
      `${label(top)}: ${top.launches.toLocaleString("en-US")} launches`,
    );
  });

  it("lists every app as one table row and sums launches in the summary", async () => {
    expect(await page.getByTestId("app-row").count()).toBe(report.apps.length);
    const launches = report.apps.reduce((sum, app) => sum + app.launches, 0);
    expect(await page.getByTestId("figure-launches").locator("dd").textContent()).toBe(
      launches.toLocaleString("en-US"),
    );
  });

  it("draws one bar per top app and one per day of the window", async () => {
    const launched = report.apps.filter((app) => app.launches > 0);
    const bars = (chart: string) => page.getByTestId(chart).getByTestId("chart-bar").count();
    expect(await bars("top-launches-chart")).toBe(Math.min(10, launched.length));
    expect(await bars("top-users-chart")).toBe(Math.min(10, launched.length));
    const days = (Date.parse(report.to) - Date.parse(report.from)) / DAY_MS;
    expect(await bars("daily-chart")).toBe(days);
    const mostUsers = Math.max(...report.apps.map((app) => app.uniqueUsers));
    const firstUsersBar = page.getByTestId("top-users-chart").getByTestId("chart-bar").first();
    expect(await firstUsersBar.locator("title").textContent()).toMatch(
      new RegExp(`: ${mostUsers.toLocaleString("en-US")} unique users$`),
    );
  });

  it("lists exactly the deleted apps in the deleted section", async () => {
    const shown = await page.getByTestId("deleted-app").locator("strong").allTextContents();
    const deleted = report.apps.filter((app) => app.deleted).map(label);
    expect(deleted.length).toBeGreaterThan(0);
    expect(shown).toEqual(deleted);
  });

  it(`lists the apps not launched for ${STALE_DAYS} days before the window's end`, async () => {
    const cutoff = Date.parse(report.to) - STALE_DAYS * DAY_MS;
    const stale = report.apps
      .filter(
        (app) =>
          !app.deleted && app.lastLaunchedAt !== null && Date.parse(app.lastLaunchedAt) <= cutoff,
      )
      // Longest idle first.
      .sort((a, b) => Date.parse(a.lastLaunchedAt ?? "") - Date.parse(b.lastLaunchedAt ?? ""))
      .map(label);
    expect(stale.length).toBeGreaterThan(0);
    expect(await page.getByTestId("stale-app").locator("th").allTextContents()).toEqual(stale);
    expect(await page.getByTestId("figure-stale").locator("dd").textContent()).toBe(
      String(stale.length),
    );
  });

  it("shows hostile names as text and never runs them", async () => {
    expect(await page.evaluate(() => (globalThis as { __xss?: unknown }).__xss)).toBe(undefined);
    const names = await page.getByTestId("app-row").locator("th").allTextContents();
    for (const hostile of HOSTILE_NAMES) expect(names).toContain(hostile);
  });

  it("filters the table with its inline script", async () => {
    const target = report.apps[report.apps.length - 1];
    if (!target) throw new Error("fixture has no apps");
    await page.getByLabel("Filter apps").fill(target.appId);
    await expect.poll(() => page.locator("[data-testid=app-row]:visible").count()).toBe(1);
    expect(await page.locator("[data-testid=app-row]:visible td.id").first().textContent()).toBe(
      target.appId,
    );
    await page.getByLabel("Filter apps").fill("");
    await expect
      .poll(() => page.locator("[data-testid=app-row]:visible").count())
      .toBe(report.apps.length);
  });

  it("fits a 1400 px window: no column of the all-apps table is cut, nothing scrolls sideways", async () => {
    await page.setViewportSize({ width: 1400, height: 900 });
    // A string, evaluated in the page: the tests compile without the DOM library.
    const fit = (await page.evaluate(`(() => {
      const table = document.querySelector("#apps-table");
      const card = table.closest("section");
      const style = getComputedStyle(card);
      const inner = card.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
      return {
        table: table.getBoundingClientRect().width,
        inner,
        cardScroll: card.scrollWidth - card.clientWidth,
        page: document.documentElement.scrollWidth - window.innerWidth,
      };
    })()`)) as { table: number; inner: number; cardScroll: number; page: number };
    expect(fit.table).toBeLessThanOrEqual(fit.inner + 0.5);
    expect(fit.cardScroll).toBe(0);
    expect(fit.page).toBeLessThanOrEqual(0);
  });

  it("keeps every 'deleted' badge of the all-apps table on one line at 1400 px, screenshot in out/", async () => {
    await page.setViewportSize({ width: 1400, height: 900 });
    // The lines each badge's text takes: a badge broken inside its word ("delete / d") takes two.
    const lines = (await page.evaluate(`(() =>
      [...document.querySelectorAll("#apps-table .tag")].map((tag) => {
        const range = document.createRange();
        range.selectNodeContents(tag);
        return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
      })
    )()`)) as number[];
    expect(lines.length).toBe(report.apps.filter((app) => app.deleted).length);
    expect(lines.every((n) => n === 1)).toBe(true);
    await page.getByTestId("all-apps").screenshot({ path: "out/dashboard-all-apps.png" });
  });

  it("fills the launches-per-day card with its chart at 1400 px", async () => {
    await page.setViewportSize({ width: 1400, height: 900 });
    expect(await chartFill(page)).toBeGreaterThanOrEqual(0.98);
  });

  it("draws the per-day chart with a labelled value axis and headroom above the tallest bar", async () => {
    const chart = page.getByTestId("daily-chart");
    const ticks = await chart.getByTestId("y-tick").allTextContents();
    expect(ticks.length).toBeGreaterThanOrEqual(3);
    expect(ticks[0]).toBe("0");
    const values = ticks.map((t) => Number(t.replace(/,/g, "")));
    const most = Math.max(...report.daily!.map((d) => d.launches));
    // The top tick is at or above the tallest bar.
    expect(Math.max(...values)).toBeGreaterThanOrEqual(most);
    const geometry = await chart.evaluate((svg) => {
      const rects = [...svg.querySelectorAll("rect")].map((r) => r.getBBox());
      const top = Math.min(...rects.map((b) => b.y));
      const lines = [...svg.querySelectorAll("[data-testid=y-grid]")].map((l) => l.getBBox().y);
      return { top, gridTop: Math.min(...lines) };
    });
    // The tallest bar stays at or below the top grid line, never above it.
    expect(geometry.top).toBeGreaterThanOrEqual(geometry.gridTop - 0.5);
  });

  it("fills the card with the per-day chart of a one-week report too, screenshot in out/", async () => {
    const week = generateReport({ seed: 7, apps: 12, days: 7, deletedApps: 2 });
    const file = join(dir, "week.html");
    await writeFile(file, renderReport(week, "html", { staleDays: STALE_DAYS }));
    const weekPage = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    try {
      await weekPage.goto(pathToFileURL(file).href, { waitUntil: "load" });
      expect(await chartFill(weekPage)).toBeGreaterThanOrEqual(0.98);
      await weekPage.getByTestId("daily").screenshot({ path: "out/dashboard-daily-week.png" });
    } finally {
      await weekPage.close();
    }
  });

  it("loads nothing but its own file and logs no errors", () => {
    expect(requests).toEqual([fileUrl]);
    expect(consoleErrors).toEqual([]);
  });
});

/** The share of its card's inner width the launches-per-day chart takes. */
async function chartFill(page: Page): Promise<number> {
  const fill = (await page.evaluate(`(() => {
    const card = document.querySelector("[data-testid=daily]");
    const chart = card.querySelector("svg");
    const style = getComputedStyle(card);
    const inner = card.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    return chart.getBoundingClientRect().width / inner;
  })()`)) as number;
  return fill;
}
