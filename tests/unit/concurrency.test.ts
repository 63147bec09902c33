import { describe, expect, it } from "vitest";
import { createBudget, createLimiter, mapLimit } from "@/lib/concurrency";

const tick = () => new Promise((r) => setImmediate(r));

describe("createLimiter", () => {
  it("never runs more than its limit at once, runs everything, in FIFO order", async () => {
    const limit = createLimiter(3);
    let active = 0;
    let peak = 0;
    const started: number[] = [];
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        limit(async () => {
          started.push(i);
          active++;
          peak = Math.max(peak, active);
          await tick();
          active--;
        }),
      ),
    );
    expect(peak).toBe(3);
    expect(started).toEqual([...Array(20).keys()]);
    expect(limit.activeCount).toBe(0);
    expect(limit.pendingCount).toBe(0);
  });

  it("frees a slot when a function throws", async () => {
    const limit = createLimiter(1);
    await expect(limit(async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    await expect(limit(async () => 7)).resolves.toBe(7);
  });

  it("refuses a limit that is not a positive integer", () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => createLimiter(bad)).toThrow(RangeError);
  });
});

describe("mapLimit", () => {
  it("keeps the items' order and bounds the calls in flight", async () => {
    let active = 0;
    let peak = 0;
    const out = await mapLimit([5, 1, 4, 2, 3, 0, 6], 2, async (n, i) => {
      active++;
      peak = Math.max(peak, active);
      for (let k = 0; k < n; k++) await tick(); // later items finish first
      active--;
      return `${i}:${n * 10}`;
    });
    expect(out).toEqual(["0:50", "1:10", "2:40", "3:20", "4:30", "5:0", "6:60"]);
    expect(peak).toBe(2);
  });

  it("maps an empty list and any iterable", async () => {
    expect(await mapLimit([], 4, async () => 1)).toEqual([]);
    expect(await mapLimit(new Set(["a", "b"]), 8, async (s) => s.toUpperCase())).toEqual(["A", "B"]);
  });

  it("rejects with the first failure and starts nothing after it", async () => {
    const started: number[] = [];
    const run = mapLimit([0, 1, 2, 3, 4, 5], 1, async (i) => {
      started.push(i);
      await tick();
      if (i === 1) throw new Error(`item ${i} failed`);
      return i;
    });
    await expect(run).rejects.toThrow("item 1 failed");
    for (let k = 0; k < 10; k++) await tick();
    expect(started).toEqual([0, 1]);
  });
});

describe("createBudget", () => {
  it("runs work while its weights fit, FIFO, a piece larger than the budget alone", async () => {
    const budget = createBudget(10);
    let active = 0;
    let peak = 0;
    const started: number[] = [];
    const weights = [4, 4, 4, 15, 1, 6, 3];
    await Promise.all(
      weights.map((w, i) =>
        budget.run(w, async () => {
          started.push(i);
          active += w;
          peak = Math.max(peak, active);
          if (w > 10) expect(active).toBe(w); // alone
          else expect(active).toBeLessThanOrEqual(10);
          for (let k = 0; k < 3; k++) await tick();
          active -= w;
        }),
      ),
    );
    // the third 4 waits for a 4 to settle; 1 does not overtake 15, which waits for the budget to empty
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(peak).toBe(15);
    expect(budget.inFlight).toBe(0);
    expect(budget.pending).toBe(0);
  });

  it("returns the weight when the work throws, and refuses a budget that is not positive", async () => {
    const budget = createBudget(2);
    await expect(budget.run(2, async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(budget.inFlight).toBe(0);
    await expect(budget.run(2, async () => 7)).resolves.toBe(7);
    for (const bad of [0, -1, Number.NaN]) expect(() => createBudget(bad)).toThrow(RangeError);
  });
});
