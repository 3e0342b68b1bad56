import { describe, expect, it } from "vitest";
import { listingWindow, parseApiTime } from "../../../emulator/listing-rules";

describe("listing window rules (pure)", () => {
  const now = Date.parse("2026-05-20T12:00:00Z");
  it("parses exactly the three documented formats as UTC", () => {
    expect(parseApiTime("2026-05-19")).toBe(Date.parse("2026-05-19T00:00:00Z"));
    expect(parseApiTime("2026-05-19T13:17")).toBe(Date.parse("2026-05-19T13:17:00Z"));
    expect(parseApiTime("2026-05-19T13:17:34")).toBe(Date.parse("2026-05-19T13:17:34Z"));
    for (const bad of [
      "2026-05-19T13:17:34Z",
      "2026-05-19T13:17:34.000",
      "2026-5-19",
      "2026-05-19 13:17",
      "2026-13-01",
      "2026-05-19T24:00",
    ])
      expect(parseApiTime(bad), bad).toBeNull();
  });

  it("defaults to the last 24 hours and enforces 24 h / 7 days", () => {
    expect(listingWindow(undefined, undefined, now)).toEqual({
      ok: true,
      startMs: now - 86_400_000,
      endMs: now,
    });
    expect(listingWindow("2026-05-19T12:00", "2026-05-20T12:00", now).ok).toBe(true);
    expect(listingWindow("2026-05-19T12:00", "2026-05-20T12:00:01", now).ok).toBe(false);
    expect(listingWindow("2026-05-13T12:00", "2026-05-13T13:00", now).ok).toBe(true);
    expect(listingWindow("2026-05-13T11:59:59", "2026-05-13T13:00", now).ok).toBe(false);
  });
});
