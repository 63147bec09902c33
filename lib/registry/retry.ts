/** Retry timing (pure): `Retry-After` parsing and capped exponential backoff with jitter. */

/** Milliseconds to wait from a `Retry-After` value (delta-seconds or HTTP-date), or undefined if unusable. */
export function parseRetryAfter(value: string | string[] | undefined, now: number = Date.now()): number | undefined {
  const v = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!v) return undefined;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  if (/^\d+\.\d+$/.test(v)) return Math.round(Number(v) * 1000); // not RFC, but seen in the wild
  const date = Date.parse(v);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** Delay before retry number `attempt` (1-based): base·2^(attempt-1), full jitter in [½, 1], capped. */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + (exp / 2) * random());
}
