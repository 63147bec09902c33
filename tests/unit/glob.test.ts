import { describe, expect, it } from "vitest";
import { compileGlob, HOST_GLOB, matchesGlob, MAX_GLOB_LENGTH, PATH_GLOB } from "@/lib/glob";
import { matchesHostPattern } from "@/lib/registry/host-policy";

describe("lib/glob: one matcher for image scopes and host rules", () => {
  it("path dialect: * within a segment, ** across, ? one character", () => {
    expect(matchesGlob("ghcr.io/acme/app", "ghcr.io/acme/*")).toBe(true);
    expect(matchesGlob("ghcr.io/acme/team/app", "ghcr.io/acme/*")).toBe(false);
    expect(matchesGlob("ghcr.io/acme/team/app", "ghcr.io/acme/**")).toBe(true);
    expect(matchesGlob("ghcr.io/acme/", "ghcr.io/acme/**")).toBe(true);
    expect(matchesGlob("ghcr.io/acmex/app", "ghcr.io/acme/**")).toBe(false);
    expect(matchesGlob("a.b", "a?b")).toBe(true);
    expect(matchesGlob("a/b", "a?b")).toBe(false);
    expect(matchesGlob("ghcr.io/acme/app:v1", "ghcr.io/acme/app*")).toBe(true);
    expect(matchesGlob("x", "")).toBe(false);
    expect(matchesGlob("", "")).toBe(true);
    expect(matchesGlob("", "*")).toBe(true);
    expect(matchesGlob("abc", "a*b*c")).toBe(true);
    expect(matchesGlob("abxc", "a*b*c")).toBe(true);
    expect(matchesGlob("acb", "a*b*c")).toBe(false);
    // case-sensitive, and regexp metacharacters are literal
    expect(matchesGlob("GHCR.io/a", "ghcr.io/a")).toBe(false);
    expect(matchesGlob("a.b", "a.b")).toBe(true);
    expect(matchesGlob("axb", "a.b")).toBe(false);
    expect(matchesGlob("a+(b)[c]$^|", "a+(b)[c]$^|")).toBe(true);
    expect(compileGlob("a/b").literal).toBe(true);
    expect(compileGlob("a/*").literal).toBe(false);
  });

  it("host dialect: * within one label, case-insensitive", () => {
    expect(matchesGlob("a.example.com", "*.example.com", HOST_GLOB)).toBe(true);
    expect(matchesGlob("a.b.example.com", "*.example.com", HOST_GLOB)).toBe(false);
    expect(matchesGlob("a.b.example.com", "**.example.com", HOST_GLOB)).toBe(true);
    expect(matchesGlob("Registry.LOCAL", "registry.local", HOST_GLOB)).toBe(true);
    expect(matchesGlob("r:5000", "r*", HOST_GLOB)).toBe(false);
    // host-policy keeps its API on top of it
    expect(matchesHostPattern("127.0.0.*", "127.0.0.1:5000")).toBe(true);
    expect(matchesHostPattern("ghcr.io", "ghcr.io.evil.example")).toBe(false);
    expect(matchesHostPattern("registry.local:5000", "registry.local:5001")).toBe(false);
  });

  it("hostile patterns and values stay linear and correct (no backtracking)", () => {
    const value = `${"a".repeat(4000)}`;
    const pattern = `${"*a".repeat(60)}b`; // exponential for a backtracking matcher
    expect(matchesGlob(value, pattern)).toBe(false);
    expect(matchesGlob(`${value}b`.slice(1), pattern)).toBe(true);
    expect(matchesGlob(value, `${"**a".repeat(60)}**b`, PATH_GLOB)).toBe(false);
    expect(matchesGlob(`${"a.".repeat(1000)}com`, `${"*.".repeat(50)}net`, HOST_GLOB)).toBe(false);
    // over-long patterns never match; over-long values never match
    expect(matchesGlob("a", "*".repeat(MAX_GLOB_LENGTH + 1))).toBe(false);
    expect(matchesGlob("a".repeat(5000), "**")).toBe(false);
  });
});
