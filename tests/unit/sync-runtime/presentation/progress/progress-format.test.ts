import { describe, expect, it } from "vitest";
import {
  estimateRemainingMs,
  fitToColumns,
  formatDuration,
  formatProgressLine,
  formatRate,
  progressFraction,
  recordsPerSecond,
} from "../../../../../sync-runtime/src/presentation/progress/progress-format";
import type { ProgressSnapshot } from "../../../../../sync-runtime/src/domain/progress-snapshot";

const START = Date.parse("2026-11-25T10:00:00.000Z");

function snapshot(overrides: Partial<ProgressSnapshot> = {}): ProgressSnapshot {
  return {
    contentType: "Audit.General",
    windowsDone: 0,
    windowsTotal: 7,
    blobsDone: 0,
    blobsKnown: 0,
    recordsDone: 0,
    startedAt: new Date(START),
    ...overrides,
  };
}

describe("formatDuration", () => {
  it("uses at most two units, zero-padding the second", () => {
    expect(formatDuration(0)).toBe("0s");
    expect(formatDuration(42_400)).toBe("42s");
    expect(formatDuration(185_000)).toBe("3m 05s");
    expect(formatDuration(3_720_000)).toBe("1h 02m");
    expect(formatDuration((2 * 24 + 3) * 3_600_000 + 59_000)).toBe("2d 03h");
  });

  it("never shows a negative duration when clocks disagree", () => {
    expect(formatDuration(-5_000)).toBe("0s");
  });
});

describe("recordsPerSecond and formatRate", () => {
  it("divides records by the elapsed seconds of the fake clock", () => {
    const s = snapshot({ recordsDone: 12_345 });
    expect(recordsPerSecond(s, START + 10_000)).toBeCloseTo(1234.5, 6);
    expect(formatRate(recordsPerSecond(s, START + 10_000))).toBe("1,235 records/s");
  });

  it("shows no rate during the first second, and keeps a decimal for slow rates", () => {
    expect(recordsPerSecond(snapshot({ recordsDone: 50 }), START + 500)).toBeNull();
    expect(formatRate(null)).toBe("— records/s");
    expect(formatRate(recordsPerSecond(snapshot({ recordsDone: 7 }), START + 2_000))).toBe(
      "3.5 records/s",
    );
  });
});

describe("progressFraction and estimateRemainingMs", () => {
  it("estimates from finished windows: 2 of 8 windows in 60 s leaves 180 s", () => {
    const s = snapshot({ windowsDone: 2, windowsTotal: 8, blobsDone: 40, blobsKnown: 90 });
    expect(progressFraction(s)).toBe(0.25);
    expect(estimateRemainingMs(s, START + 60_000)).toBe(180_000);
  });

  it("estimates from blobs before the first window finishes, scaled to the window's share", () => {
    const s = snapshot({ windowsDone: 0, windowsTotal: 4, blobsDone: 50, blobsKnown: 100 });
    expect(progressFraction(s)).toBe(0.125);
    expect(estimateRemainingMs(s, START + 10_000)).toBe(70_000);
  });

  it("uses blobs alone for a single-window pass", () => {
    const s = snapshot({ windowsTotal: 1, blobsDone: 30, blobsKnown: 40 });
    expect(progressFraction(s)).toBe(0.75);
    expect(estimateRemainingMs(s, START + 30_000)).toBe(10_000);
  });

  it("has no estimate before anything is done or within the first second", () => {
    expect(estimateRemainingMs(snapshot(), START + 30_000)).toBeNull();
    expect(
      estimateRemainingMs(snapshot({ windowsDone: 1, windowsTotal: 2 }), START + 200),
    ).toBeNull();
  });

  it("reaches zero when every window is done", () => {
    const s = snapshot({ windowsDone: 7, windowsTotal: 7 });
    expect(progressFraction(s)).toBe(1);
    expect(estimateRemainingMs(s, START + 1_000)).toBe(0);
  });
});

describe("formatProgressLine", () => {
  it("shows windows, blobs, records, rate, elapsed and ETA while running", () => {
    const s = snapshot({
      windowsDone: 3,
      windowsTotal: 6,
      blobsDone: 120,
      blobsKnown: 450,
      recordsDone: 45_210,
    });
    const line = formatProgressLine(s, START + 90_000);
    expect(line).toBe(
      "Audit.General  windows 3/6  blobs 120/450  records 45,210  502 records/s  elapsed 1m 30s  ETA 1m 30s",
    );
  });

  it("shows the Graph source's days queried, running and stored, with an ETA from stored days", () => {
    const s = snapshot({
      contentType: "graph",
      windowsDone: 2,
      windowsTotal: 180,
      recordsDone: 9_000,
      days: { queried: 30, running: 10, stored: 20 },
    });
    expect(formatProgressLine(s, START + 60_000)).toBe(
      "graph  days 30 queried  10 running  20/180 stored  records 9,000  150 records/s  elapsed 1m 00s  ETA 8m 00s",
    );
    expect(progressFraction({ ...s, days: { queried: 10, running: 10, stored: 0 } })).toBeNull();
  });

  it("reports the total time instead of an ETA once done or failed", () => {
    const s = snapshot({ windowsDone: 6, windowsTotal: 6, recordsDone: 600 });
    expect(formatProgressLine(s, START + 60_000, "done")).toMatch(/done in 1m 00s$/);
    expect(formatProgressLine(s, START + 60_000, "failed")).toMatch(/failed in 1m 00s$/);
    expect(formatProgressLine(s, START + 60_000, "done")).not.toContain("ETA");
  });
});

describe("fitToColumns", () => {
  it("cuts a line that would wrap and leaves a short one alone", () => {
    expect(fitToColumns("x".repeat(100), 40)).toHaveLength(39);
    expect(fitToColumns("x".repeat(100), 40).endsWith("…")).toBe(true);
    expect(fitToColumns("short", 40)).toBe("short");
    expect(fitToColumns("x".repeat(100), undefined)).toHaveLength(100);
  });
});
