import { LRUCache } from "lru-cache";
import { normalizeAddress } from "@/lib/net/client-address";

/**
 * Per-source bookkeeping of the admission webhook, in bounded memory (pure apart from the clock):
 * a token-bucket rate limiter of evaluations per caller address (used while callers are not
 * authenticated) and a gate that lets at most one log line per source and interval through, counting
 * what it held back. Both keep at most `maxSources` sources (least recently seen forgotten first).
 * IPv6 callers are keyed by their /64, so one host cannot step around its limit through its own
 * prefix; IPv4-mapped addresses count as the IPv4 address.
 */

/** The key a caller is counted under: its IPv4 address, its IPv6 /64 ("2001:db8:1:2::/64"), or "unknown". */
export function sourceKey(remoteAddress: string | undefined): string {
  const a = normalizeAddress(remoteAddress);
  if (!a) return "unknown";
  if (!a.includes(":")) return a;
  return `${expandIpv6(a).slice(0, 4).join(":")}::/64`;
}

function expandIpv6(a: string): string[] {
  // an embedded IPv4 tail ("::1.2.3.4") counts as its two groups
  const v4 = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(a);
  let s = a;
  if (v4) {
    const [b1, b2, b3, b4] = v4.slice(1).map(Number) as [number, number, number, number];
    s = `${a.slice(0, v4.index)}${((b1 << 8) | b2).toString(16)}:${((b3 << 8) | b4).toString(16)}`;
  }
  const [head, tail] = s.split("::", 2) as [string, string | undefined];
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill("0"), ...t];
  return groups.map((g) => (Number.parseInt(g || "0", 16) || 0).toString(16));
}

export interface RateLimit {
  /** Sustained evaluations a second per source. */
  perSecond: number;
  /** How many may come at once before the sustained rate applies. */
  burst: number;
}

/** Token buckets per source: `take` says whether one more evaluation may start now, and if not, when. */
export class SourceRateLimiter {
  private readonly buckets: LRUCache<string, { tokens: number; at: number }>;

  constructor(
    private readonly limit: RateLimit,
    private readonly opts: { maxSources?: number; now?: () => number } = {},
  ) {
    if (!(limit.perSecond > 0) || !(limit.burst >= 1)) throw new Error("a rate limit needs perSecond > 0 and burst >= 1");
    this.buckets = new LRUCache({ max: opts.maxSources ?? 10_000 });
  }

  /** Takes one token of `source`'s bucket: ok, or the seconds until the next token. */
  take(source: string): { ok: true } | { ok: false; retryAfterSeconds: number } {
    const now = this.opts.now?.() ?? Date.now();
    const b = this.buckets.get(source) ?? { tokens: this.limit.burst, at: now };
    b.tokens = Math.min(this.limit.burst, b.tokens + (Math.max(0, now - b.at) / 1000) * this.limit.perSecond);
    b.at = now;
    this.buckets.set(source, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - b.tokens) / this.limit.perSecond)) };
  }

  /** Sources currently remembered (at most maxSources). */
  get size(): number {
    return this.buckets.size;
  }
}

/**
 * At most one line per source and `intervalMs`: `note` counts an occurrence and returns what to log
 * (the occurrences since the source's last line, this one included) when a line is due, else null.
 */
export class SourceLogGate {
  private readonly seen: LRUCache<string, { since: number; lastLine: number }>;
  /** Every occurrence noted, all sources together. */
  total = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly opts: { maxSources?: number; now?: () => number } = {},
  ) {
    this.seen = new LRUCache({ max: opts.maxSources ?? 1024 });
  }

  note(source: string): { count: number } | null {
    this.total++;
    const now = this.opts.now?.() ?? Date.now();
    const s = this.seen.get(source);
    if (!s) {
      this.seen.set(source, { since: 0, lastLine: now });
      return { count: 1 };
    }
    s.since++;
    if (now - s.lastLine < this.intervalMs) return null;
    const count = s.since;
    s.since = 0;
    s.lastLine = now;
    return { count };
  }
}
