import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createProgressRenderer } from "../../../../../sync-runtime/src/presentation/progress/progress-renderer";
import type { ProgressSnapshot } from "../../../../../sync-runtime/src/domain/progress-snapshot";

const START = Date.parse("2026-11-25T10:00:00.000Z");

/** Collects what the renderer writes, like a terminal or a log file would receive it. */
function fakeStream(columns?: number) {
  const chunks: string[] = [];
  return {
    chunks,
    columns,
    write: (chunk: string) => chunks.push(chunk),
    text: () => chunks.join(""),
  };
}

function snapshot(
  recordsDone: number,
  overrides: Partial<ProgressSnapshot> = {},
): ProgressSnapshot {
  return {
    contentType: "Audit.General",
    windowsDone: Math.floor(recordsDone / 1000),
    windowsTotal: 7,
    blobsDone: Math.floor(recordsDone / 100),
    blobsKnown: 80,
    recordsDone,
    startedAt: new Date(START),
    ...overrides,
  };
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date", "setTimeout", "clearTimeout"] });
  vi.setSystemTime(START);
});

afterEach(() => {
  vi.useRealTimers();
});

describe("progress renderer on a terminal", () => {
  it("redraws one line in place, at most every redraw interval, and ends with a newline", () => {
    const out = fakeStream(200);
    const progress = createProgressRenderer({ stream: out, isTTY: true, redrawIntervalMs: 250 });
    // 100 updates in one second: only about four redraws may reach the terminal.
    for (let i = 1; i <= 100; i++) {
      vi.advanceTimersByTime(10);
      progress.update(snapshot(i * 50));
    }
    const redraws = out.chunks.filter((chunk) => chunk.startsWith("\r"));
    expect(redraws.length).toBeGreaterThanOrEqual(4);
    expect(redraws.length).toBeLessThanOrEqual(5);
    expect(out.text()).not.toContain("\n");

    progress.finish();
    const text = out.text();
    expect(text.endsWith("\n")).toBe(true);
    expect(text.split("\n")).toHaveLength(2);
    // The final line carries the last snapshot's figures and the total time.
    expect(text).toMatch(/records 5,000 .*done in 1s\u001b\[K\n$/);
  });

  it("draws the newest snapshot after the interval even when no further update arrives", () => {
    const out = fakeStream(200);
    const progress = createProgressRenderer({ stream: out, isTTY: true, redrawIntervalMs: 250 });
    progress.update(snapshot(10));
    vi.advanceTimersByTime(50);
    progress.update(snapshot(20));
    expect(out.text()).not.toContain("records 20 ");
    vi.advanceTimersByTime(250);
    expect(out.chunks.at(-1)).toContain("records 20 ");
  });

  it("cuts the line to the terminal width so the redraw never wraps", () => {
    const out = fakeStream(40);
    const progress = createProgressRenderer({ stream: out, isTTY: true });
    progress.update(snapshot(1234));
    const drawn = (out.chunks[0] ?? "").replace("\r", "").replace("\u001b[K", "");
    expect(drawn.length).toBeLessThan(40);
  });

  it("keeps a finished line per content type", () => {
    const out = fakeStream(200);
    const progress = createProgressRenderer({ stream: out, isTTY: true });
    progress.update(snapshot(100, { contentType: "Audit.General" }));
    vi.advanceTimersByTime(1000);
    progress.update(snapshot(200, { contentType: "Audit.SharePoint" }));
    progress.finish("failed");
    const lines = out.text().split("\n").filter(Boolean);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/Audit\.General .*done in/);
    expect(lines[1]).toMatch(/Audit\.SharePoint .*failed in/);
  });
});

describe("progress renderer on a pipe or log", () => {
  it("writes plain lines at most every log interval, plus one at the end", () => {
    const out = fakeStream();
    const progress = createProgressRenderer({ stream: out, isTTY: false, logIntervalMs: 10_000 });
    // One update per second for a minute.
    for (let i = 0; i < 60; i++) {
      progress.update(snapshot(i * 100));
      vi.advanceTimersByTime(1000);
    }
    progress.finish();
    const lines = out.text().split("\n").filter(Boolean);
    expect(lines).toHaveLength(6 + 1);
    expect(out.text()).not.toContain("\r");
    expect(out.text()).not.toContain("\u001b");
    for (const line of lines) expect(line.startsWith("progress: Audit.General")).toBe(true);
    expect(lines.at(-1)).toMatch(/records 5,900 .*done in 1m 00s$/);
  });

  it("writes nothing when the pass never reported progress", () => {
    const out = fakeStream();
    createProgressRenderer({ stream: out, isTTY: false }).finish();
    expect(out.chunks).toHaveLength(0);
  });
});
