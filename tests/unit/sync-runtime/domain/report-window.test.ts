import { describe, expect, it } from "vitest";
import { lastDays } from "../../../../sync-runtime/src/domain/report-window";

describe("lastDays", () => {
  it("is today so far and the whole UTC days before it", () => {
    const now = new Date("2026-05-19T13:17:34.120Z");
    expect(lastDays(now, 7)).toEqual({ from: new Date("2026-05-13T00:00:00Z"), to: now });
    expect(lastDays(now, 1)).toEqual({ from: new Date("2026-05-19T00:00:00Z"), to: now });
  });
});
