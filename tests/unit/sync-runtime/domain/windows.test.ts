import { describe, expect, it } from "vitest";
import {
  formatApiTime,
  MAX_WINDOW_MS,
  oldestAllowed,
  planPass,
} from "../../../../sync-runtime/src/domain/windows";

const H = 3_600_000;
const now = new Date("2026-05-20T12:00:30.500Z");

describe("planPass", () => {
  it("covers the first-run period in windows of at most 24 h ending at now (whole seconds)", () => {
    const plan = planPass({ now, overlapMs: 2 * H, firstRunMs: 48 * H });
    expect(plan.windows).toHaveLength(2);
    expect(plan.to.toISOString()).toBe("2026-05-20T12:00:30.000Z");
    expect(plan.from.toISOString()).toBe("2026-05-18T12:00:30.000Z");
    for (const w of plan.windows)
      expect(w.to.getTime() - w.from.getTime()).toBeLessThanOrEqual(MAX_WINDOW_MS);
    expect(plan.windows[0].to).toEqual(plan.windows[1].from);
    expect(plan.advancesCheckpoint).toBe(true);
    expect(plan.gap).toBeUndefined();
  });

  it("resumes from the checkpoint minus the overlap", () => {
    const checkpoint = new Date("2026-05-20T10:00:00Z");
    const plan = planPass({ now, checkpoint, overlapMs: 2 * H, firstRunMs: 24 * H });
    expect(plan.from.toISOString()).toBe("2026-05-20T08:00:00.000Z");
    expect(plan.windows).toHaveLength(1);
    expect(plan.advancesCheckpoint).toBe(true);
  });

  it("reports the exact interval lost when the checkpoint is older than 7 days, and starts at the oldest allowed time", () => {
    const checkpoint = new Date("2026-05-10T00:00:00Z");
    const plan = planPass({ now, checkpoint, overlapMs: 2 * H, firstRunMs: 24 * H });
    const oldest = oldestAllowed(now);
    expect(plan.gap).toEqual({ from: checkpoint, to: oldest });
    expect(plan.from).toEqual(oldest);
    expect(now.getTime() - plan.from.getTime()).toBeLessThan(7 * 24 * H);
    expect(plan.windows).toHaveLength(7);
    expect(plan.advancesCheckpoint).toBe(true);
  });

  it("clamps an explicit --from older than 7 days without calling it a gap", () => {
    const plan = planPass({
      now,
      requestedFrom: new Date("2026-05-01T00:00:00Z"),
      overlapMs: 0,
      firstRunMs: 24 * H,
    });
    expect(plan.gap).toBeUndefined();
    expect(plan.clampedFrom?.toISOString()).toBe("2026-05-01T00:00:00.000Z");
    expect(plan.from).toEqual(oldestAllowed(now));
  });

  it("does not advance the checkpoint over a hole when --from starts after it", () => {
    const plan = planPass({
      now,
      checkpoint: new Date("2026-05-18T00:00:00Z"),
      requestedFrom: new Date("2026-05-19T00:00:00Z"),
      overlapMs: 0,
      firstRunMs: 24 * H,
    });
    expect(plan.advancesCheckpoint).toBe(false);
  });

  it("never plans past now and plans nothing for an empty interval", () => {
    const plan = planPass({
      now,
      requestedFrom: now,
      requestedTo: new Date(now.getTime() + H),
      overlapMs: 0,
      firstRunMs: H,
    });
    expect(plan.windows).toEqual([]);
  });
});

describe("formatApiTime", () => {
  it("writes UTC to the second without a zone, as the API documents", () => {
    expect(formatApiTime(new Date("2026-05-20T01:02:03.999Z"))).toBe("2026-05-20T01:02:03");
  });
});
