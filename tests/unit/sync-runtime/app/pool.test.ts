import { describe, expect, it } from "vitest";
import { TaskPool } from "../../../../sync-runtime/src/app/pool";

const tick = () => new Promise((r) => setTimeout(r, 5));

describe("TaskPool", () => {
  it("never runs more than its limit at once and runs every task", async () => {
    const pool = new TaskPool(3);
    let running = 0;
    let peak = 0;
    let done = 0;
    for (let i = 0; i < 20; i++) {
      await pool.submit(async () => {
        running++;
        peak = Math.max(peak, running);
        await tick();
        running--;
        done++;
      });
    }
    await pool.drain();
    expect(peak).toBe(3);
    expect(done).toBe(20);
  });

  it("starts nothing after a failure and rethrows it from drain", async () => {
    const pool = new TaskPool(1);
    let started = 0;
    await pool.submit(async () => {
      started++;
      throw new Error("boom");
    });
    for (let i = 0; i < 5; i++) await pool.submit(async () => void started++);
    await expect(pool.drain()).rejects.toThrow("boom");
    expect(started).toBe(1);
  });
});
