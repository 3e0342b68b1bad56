import { describe, expect, it } from "vitest";
import { MemoryBudget } from "../../../../sync-runtime/src/app/memory-budget";

/** Whether `p` has settled once every pending callback has run. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe("MemoryBudget", () => {
  it("lets a blob charge freely while the total stays within the limit", async () => {
    const budget = new MemoryBudget(100, 60);
    const a = budget.open();
    const b = budget.open();
    await a.see(40);
    await b.see(50);
    expect(budget.inUse).toBe(90);
  });

  it("makes a blob that would go over the limit wait until another releases", async () => {
    const budget = new MemoryBudget(100, 60);
    const a = budget.open();
    const b = budget.open();
    await a.see(60);
    await b.see(10);
    const more = b.see(40);
    expect(await settled(more)).toBe(false);
    expect(budget.inUse).toBe(70);
    a.release();
    expect(await settled(more)).toBe(true);
    expect(budget.inUse).toBe(50);
  });

  it("charges a blob at most its per-blob cap, however much it sees", async () => {
    const budget = new MemoryBudget(100, 30);
    const a = budget.open();
    await a.see(20);
    await a.see(1_000);
    await a.see(1_000_000);
    expect(budget.inUse).toBe(30);
    // At its cap a blob never waits: it holds no more than it already has.
    const b = budget.open();
    await b.see(30);
    const c = budget.open();
    await c.see(30);
    await a.see(5_000);
    expect(budget.inUse).toBe(90);
  });

  it("lets a blob alone proceed past the limit, so one big blob cannot stall the pass", async () => {
    const budget = new MemoryBudget(10, 50);
    const a = budget.open();
    await a.see(5);
    expect(await settled(a.see(45))).toBe(true);
    expect(budget.inUse).toBe(50);
  });

  it("never leaves every charged blob waiting: one of them proceeds (no deadlock)", async () => {
    // Five blobs below their cap fill the budget; had all of them waited, none would release.
    const budget = new MemoryBudget(100, 30);
    const charges = Array.from({ length: 5 }, () => budget.open());
    for (const c of charges) await c.see(20);
    const more = charges.map((c) => c.see(10));
    const done = await Promise.all(more.map(settled));
    expect(done.filter(Boolean)).toHaveLength(1);
    // Each blob that went on ends and releases; the others then go on in turn.
    const released = new Set<number>();
    while (released.size < charges.length) {
      const next = done.findIndex((d, i) => d && !released.has(i));
      expect(next).toBeGreaterThanOrEqual(0);
      charges[next].release();
      released.add(next);
      for (let i = 0; i < more.length; i++) done[i] ||= await settled(more[i]);
    }
    expect(budget.inUse).toBe(0);
  });

  it("wakes every waiter on a release, and each goes on only if it fits", async () => {
    const budget = new MemoryBudget(100, 60);
    const a = budget.open();
    const b = budget.open();
    const c = budget.open();
    await a.see(60);
    await b.see(20);
    await c.see(20);
    const bMore = b.see(20);
    const cMore = c.see(20);
    expect(await settled(bMore)).toBe(false);
    expect(await settled(cMore)).toBe(false);
    a.release();
    expect(await settled(bMore)).toBe(true);
    expect(await settled(cMore)).toBe(true);
    expect(budget.inUse).toBe(80);
  });

  it("ends a wait when its signal aborts, with the abort's reason", async () => {
    const budget = new MemoryBudget(100, 60);
    const a = budget.open();
    const b = budget.open();
    await a.see(60);
    await b.see(10);
    const controller = new AbortController();
    const more = b.see(40, controller.signal);
    expect(await settled(more)).toBe(false);
    controller.abort(new Error("stopping"));
    await expect(more).rejects.toThrow("stopping");
    // Its charge so far stays until the blob releases it.
    expect(budget.inUse).toBe(70);
    b.release();
    expect(budget.inUse).toBe(60);
  });

  it("releases a blob's whole charge once, and a second release changes nothing", async () => {
    const budget = new MemoryBudget(100, 60);
    const a = budget.open();
    await a.see(30);
    a.release();
    a.release();
    expect(budget.inUse).toBe(0);
    // The same account can charge again (a retried download starts over).
    await a.see(10);
    expect(budget.inUse).toBe(10);
  });
});
