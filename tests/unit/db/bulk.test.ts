import { describe, expect, it } from "vitest";
import { rowsJson } from "@/lib/db/bulk";

describe("rowsJson (insertRows' parameter)", () => {
  it("writes bigints as decimal strings at any depth, everything else as JSON.stringify does", () => {
    const at = new Date("2026-12-08T01:00:00.123Z");
    expect(rowsJson([{ a: 1n, b: { c: [2n, "x"] }, d: at, e: null }])).toBe('[{"a":"1","b":{"c":["2","x"]},"d":"2026-12-08T01:00:00.123Z","e":null}]');
    const plain = [{ s: 'q"\\\u00e9', n: 1.5, l: [true, null], d: at, u: undefined }];
    expect(rowsJson(plain)).toBe(JSON.stringify(plain));
  });

  it("still refuses what JSON cannot hold", () => {
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    expect(() => rowsJson([loop])).toThrow(TypeError);
  });
});
