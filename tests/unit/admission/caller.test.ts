import { describe, expect, it } from "vitest";
import { parseTokenFile } from "@/lib/admission/caller-auth";
import { SourceLogGate, SourceRateLimiter, sourceKey } from "@/lib/admission/per-source";
import { bearerMatches, bearerToken } from "@/lib/auth/bearer";

describe("the unauthenticated callers' rate limiter", () => {
  it("lets a burst through, then the sustained rate, per source", () => {
    let now = 1_000_000;
    const limiter = new SourceRateLimiter({ perSecond: 2, burst: 3 }, { now: () => now });
    const takes = (source: string, n: number) => Array.from({ length: n }, () => limiter.take(source).ok);
    expect(takes("10.0.0.1", 5)).toEqual([true, true, true, false, false]);
    // another source has its own bucket
    expect(takes("10.0.0.2", 3)).toEqual([true, true, true]);
    // a refusal says when the next token comes
    expect(limiter.take("10.0.0.1")).toEqual({ ok: false, retryAfterSeconds: 1 });
    now += 500; // 2 a second: one token in 500 ms
    expect(takes("10.0.0.1", 2)).toEqual([true, false]);
    now += 60_000; // refilled to the burst, not beyond
    expect(takes("10.0.0.1", 4)).toEqual([true, true, true, false]);
  });

  it("keeps at most maxSources buckets, forgetting the least recently seen", () => {
    const limiter = new SourceRateLimiter({ perSecond: 1, burst: 1 }, { maxSources: 100, now: () => 0 });
    for (let i = 0; i < 10_000; i++) limiter.take(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`);
    expect(limiter.size).toBe(100);
    // the most recent source is still held to its limit
    expect(limiter.take("10.0.39.15").ok).toBe(false);
  });

  it("refuses a limit that admits nothing", () => {
    expect(() => new SourceRateLimiter({ perSecond: 0, burst: 1 })).toThrow();
    expect(() => new SourceRateLimiter({ perSecond: 1, burst: 0 })).toThrow();
  });
});

describe("sources", () => {
  it("keys IPv4 by address (mapped or not) and IPv6 by /64", () => {
    expect(sourceKey("10.1.2.3")).toBe("10.1.2.3");
    expect(sourceKey("::ffff:10.1.2.3")).toBe("10.1.2.3");
    expect(sourceKey("2001:db8:1:2:aaaa::1")).toBe("2001:db8:1:2::/64");
    expect(sourceKey("2001:db8:1:2:bbbb:cccc:dddd:eeee")).toBe("2001:db8:1:2::/64");
    expect(sourceKey("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(sourceKey("::1")).toBe("0:0:0:0::/64");
    expect(sourceKey("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
    expect(sourceKey(undefined)).toBe("unknown");
    expect(sourceKey("not an address")).toBe("unknown");
  });

  it("lets one log line per source and interval through, counting what it held back", () => {
    let now = 0;
    const gate = new SourceLogGate(60_000, { now: () => now, maxSources: 2 });
    expect(gate.note("a")).toEqual({ count: 1 });
    for (let i = 0; i < 50; i++) expect(gate.note("a")).toBeNull();
    expect(gate.note("b")).toEqual({ count: 1 });
    now = 60_000;
    expect(gate.note("a")).toEqual({ count: 51 });
    expect(gate.note("a")).toBeNull();
    expect(gate.total).toBe(54);
  });
});

describe("caller tokens", () => {
  it("reads one token a line, skipping blank lines and comments; refuses short, spaced or missing tokens", () => {
    const a = "a".repeat(32);
    const b = "b".repeat(20);
    expect(parseTokenFile(`${a}\n\n# rotating out:\r\n${b}\n`)).toEqual([a, b]);
    expect(() => parseTokenFile("\n# nothing\n")).toThrow(/no token/);
    expect(() => parseTokenFile("short")).toThrow(/shorter than 16/);
    expect(() => parseTokenFile(`${a} ${b}`)).toThrow(/white space/);
    expect(() => parseTokenFile(Array.from({ length: 17 }, (_, i) => `${a}${i}`).join("\n"))).toThrow(/more than 16/);
  });

  it("matches a bearer header against every accepted token", () => {
    const tokens = ["x".repeat(32), "y".repeat(40)];
    expect(bearerMatches(`Bearer ${tokens[1]}`, tokens)).toBe(true);
    expect(bearerMatches(`bearer ${tokens[0]}`, tokens)).toBe(true);
    expect(bearerMatches(`Bearer ${tokens[0]}x`, tokens)).toBe(false);
    expect(bearerMatches(`Basic ${tokens[0]}`, tokens)).toBe(false);
    expect(bearerMatches(undefined, tokens)).toBe(false);
    expect(bearerMatches(`Bearer ${tokens[0]}`, [])).toBe(false);
    expect(bearerToken("Bearer  abc ")).toBe("abc");
    expect(bearerToken("Bearer a b")).toBeUndefined();
  });
});
