import { describe, expect, it } from "vitest";
import { createClock } from "../../../emulator/clock";

describe("clock", () => {
  it("simulated time stands still until set or advanced", async () => {
    const clock = createClock("simulated", new Date("2026-05-20T12:00:00Z"));
    await new Promise((r) => setTimeout(r, 20));
    expect(clock.now().toISOString()).toBe("2026-05-20T12:00:00.000Z");
    clock.advance(90_000);
    expect(clock.now().toISOString()).toBe("2026-05-20T12:01:30.000Z");
    clock.set(new Date("2026-06-01T00:00:00Z"));
    expect(clock.now().toISOString()).toBe("2026-06-01T00:00:00.000Z");
    expect(() => clock.set(new Date("nope"))).toThrow(/valid Date/);
  });

  it("real time keeps running, shifted by set/advance", () => {
    const clock = createClock("real");
    expect(Math.abs(clock.now().getTime() - Date.now())).toBeLessThan(50);
    clock.advance(3_600_000);
    expect(Math.abs(clock.now().getTime() - Date.now() - 3_600_000)).toBeLessThan(50);
  });
});
