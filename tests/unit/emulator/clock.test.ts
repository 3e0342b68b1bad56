import { describe, expect, it } from "vitest";
import { createClock, SimulatedSleep } from "../../../emulator/clock";

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

describe("SimulatedSleep", () => {
  const START = new Date("2026-05-01T00:00:00Z");

  it("moves the clock to the earliest sleep's end only once every busy task sleeps", async () => {
    const clock = createClock("simulated", START);
    let busy = 2;
    const sim = new SimulatedSleep(clock, () => busy);
    const woke: string[] = [];
    const a = sim
      .sleep(60_000)
      .then(() => woke.push(`a@${clock.now().getTime() - START.getTime()}`));
    // One of two tasks asleep: the other is still at work, so no simulated time passes.
    await new Promise((r) => setTimeout(r, 50));
    expect(clock.now()).toEqual(START);
    const b = sim
      .sleep(30_000)
      .then(() => woke.push(`b@${clock.now().getTime() - START.getTime()}`));
    await b;
    // b woke first; a sleeps on while b's task works, then b's task ends.
    expect(woke).toEqual(["b@30000"]);
    busy = 1;
    sim.poke();
    await a;
    expect(woke).toEqual(["b@30000", "a@60000"]);
  });

  it("ends a sleep at once when its signal aborts", async () => {
    const sim = new SimulatedSleep(createClock("simulated", START), () => 2);
    const stop = new AbortController();
    const sleeping = sim.sleep(60_000, stop.signal);
    stop.abort(new Error("stopped"));
    await expect(sleeping).rejects.toThrow("stopped");
  });
});
