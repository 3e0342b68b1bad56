/**
 * Headless Chromium for the dashboard test: Debian's system browser driven by playwright-core
 * (no browser download). Locally, a machine without chromium skips the test and says so; in CI
 * (CI set) a missing browser fails the test instead, because .ci/run installs it and the
 * dashboard must always be checked there.
 */
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import type { Browser } from "playwright-core";

export const DEFAULT_CHROMIUM_PATH = "/usr/bin/chromium";

// Headless and quiet: no GPU, no sandbox (containers and root), and none of the background
// traffic (updates, sync, QUIC probes) that would show up as network requests.
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export function isCi(): boolean {
  const value = process.env.CI?.trim().toLowerCase();
  return value !== undefined && value !== "" && value !== "0" && value !== "false";
}

/**
 * CHROMIUM_PATH when set (used as is), else Debian's /usr/bin/chromium, else a `chromium` on PATH
 * (what .ci/run checks before installing); undefined when there is none.
 */
export function findChromium(): string | undefined {
  const configured = process.env.CHROMIUM_PATH;
  if (configured) return existsSync(configured) ? configured : undefined;
  if (existsSync(DEFAULT_CHROMIUM_PATH)) return DEFAULT_CHROMIUM_PATH;
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir && existsSync(join(dir, "chromium"))) return join(dir, "chromium");
  }
  return undefined;
}

/**
 * Whether to skip the browser tests: only locally, when chromium is missing (with a warning).
 * In CI this is always false, so a missing browser makes launchChromium fail the test.
 */
export function skipBrowserTests(): boolean {
  if (findChromium() !== undefined || isCi()) return false;
  console.warn("chromium not installed: dashboard test skipped; .ci/run installs it");
  return true;
}

export async function launchChromium(): Promise<Browser> {
  const executablePath = findChromium();
  if (executablePath === undefined) {
    throw new Error(
      `chromium not found (${process.env.CHROMIUM_PATH ?? DEFAULT_CHROMIUM_PATH}) and CI is set: ` +
        "the dashboard test must run in CI. Install it with `apt-get install -y chromium` " +
        "(.ci/run does this) or point CHROMIUM_PATH at a Chromium binary.",
    );
  }
  const { chromium } = await import("playwright-core");
  return chromium.launch({ executablePath, args: CHROMIUM_ARGS, headless: true, timeout: 30_000 });
}
