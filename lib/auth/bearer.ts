import { createHash, timingSafeEqual } from "node:crypto";

/**
 * Bearer-token checks shared by every token-guarded endpoint (metrics, the admission webhook): the
 * `Authorization: Bearer <token>` header against one or more accepted tokens. Each comparison is of
 * SHA-256 digests with `timingSafeEqual`, and every accepted token is compared (no early exit), so
 * neither the token's length nor which token matched shows in the timing.
 */

const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();

/** The token of an `Authorization: Bearer <token>` header; undefined for any other header. */
export function bearerToken(header: string | null | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer +(\S+) *$/i.exec(header);
  return m?.[1];
}

/** True when `header` carries one of `accepted` (constant-time in the token). */
export function bearerMatches(header: string | null | undefined, accepted: readonly string[]): boolean {
  const token = bearerToken(header);
  if (token === undefined) return false;
  const got = digest(token);
  let ok = false;
  for (const want of accepted) ok = timingSafeEqual(got, digest(want)) || ok;
  return ok;
}
