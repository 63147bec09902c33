import { describe, expect, it } from "vitest";
import { IMAGE_BATCH_SIZE, imageBatches, scanBatchSize } from "@/lib/scan/pipeline";

const ids = (n: number) => Array.from({ length: n }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`);

describe("scan batches", () => {
  it("are 100 images for a scan of up to 3,200, then at least 32 batches of at most 250", () => {
    expect(scanBatchSize(0)).toBe(IMAGE_BATCH_SIZE);
    expect(scanBatchSize(3_200)).toBe(100);
    expect(scanBatchSize(3_201)).toBe(101);
    expect(scanBatchSize(8_000)).toBe(250);
    expect(scanBatchSize(100_000)).toBe(250);
  });

  it("split every image once, in order, sized to the scan unless a size is given", () => {
    const all = ids(10_000);
    const sized = imageBatches(all, { mode: "scan" });
    expect(sized).toHaveLength(40);
    expect(sized.flatMap((b) => b.imageIds)).toEqual(all);
    expect(Math.max(...sized.map((b) => b.imageIds.length))).toBe(250);
    const fixed = imageBatches(all.slice(0, 250), { mode: "reverify", trigger: "policy-change" }, 100);
    expect(fixed.map((b) => b.imageIds.length)).toEqual([100, 100, 50]);
    expect(fixed.every((b) => b.mode === "reverify" && b.trigger === "policy-change")).toBe(true);
  });
});
