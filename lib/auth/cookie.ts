/** better-auth's session cookie under Signet's prefix (`__Secure-` when served over https). */
const SESSION_COOKIE = /(?:^|;\s*)(?:__Secure-)?signet\.session_token=[^;\s]/;

/** Cheap pre-check (also used by proxy.ts): without a session cookie there is no session. */
export function hasSessionCookie(h: Headers): boolean {
  return SESSION_COOKIE.test(h.get("cookie") ?? "");
}
