import { describe, expect, it } from "vitest";
import { csvField, csvLine } from "@/lib/ui/csv";

/** Exported cells hold attacker-controlled text (image, namespace and workload names, registry reasons). */
describe("CSV fields a spreadsheet opens as data", () => {
  it.each([
    ["=HYPERLINK(\"http://evil.example\",\"x\")", `"'=HYPERLINK(""http://evil.example"",""x"")"`],
    ["+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"],
    ["-2+3", "'-2+3"],
    ["@SUM(A1)", "'@SUM(A1)"],
    ["\t=1+1", "\"'\t=1+1\""],
    ["\r=1+1", "\"'\r=1+1\""],
    ["\n=1+1", "\"'\n=1+1\""],
  ])("neutralises a leading formula character: %j", (value, expected) => {
    expect(csvField(value)).toBe(expected);
  });

  it("quotes a field holding another locale's separator, so no second cell can start a formula", () => {
    expect(csvField("ns;=cmd|' /C calc'!A0")).toBe(`"ns;=cmd|' /C calc'!A0"`);
    expect(csvField("ns\t=1+1")).toBe(`"ns\t=1+1"`);
    expect(csvLine(["a;=1", "b,c", 'd"e'])).toBe(`"a;=1","b,c","d""e"\r\n`);
  });

  it("leaves ordinary values as they are", () => {
    expect(csvLine(["ghcr.io/acme/web@sha256:ab", 3, null, ["x", "y"]])).toBe("ghcr.io/acme/web@sha256:ab,3,,x y\r\n");
  });
});
