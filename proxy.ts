import { NextResponse, type NextRequest } from "next/server";
import { hasSessionCookie } from "@/lib/auth/cookie";
import { getEnv } from "@/lib/env";

/** Pages reachable without a session. */
const PUBLIC_PAGES = new Set(["/sign-in", "/setup"]);

/**
 * A fresh Content-Security-Policy nonce for every page request. Next reads the policy from the
 * request headers and puts the nonce on its own scripts, so no inline script runs without it (no
 * 'unsafe-inline' for scripts). Pages render dynamically, which nonces require. API routes and static
 * files get the static headers of next.config.js.
 */
export function proxy(request: NextRequest) {
  // An optimistic check for a clean 307: the page itself verifies the session (streamed pages could
  // only redirect from the client). A present but invalid cookie is caught by the page.
  if (!PUBLIC_PAGES.has(request.nextUrl.pathname) && !hasSessionCookie(request.headers)) {
    return NextResponse.redirect(new URL("/sign-in", request.url), 307);
  }
  const nonce = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64");
  const dev = getEnv().NODE_ENV === "development";
  const csp = [
    "default-src 'self'",
    // React's development build evaluates code for its error overlays; production does not
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${dev ? " 'unsafe-eval'" : ""}`,
    // inline style attributes are harmless without script; stylesheets come from 'self'
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
  const requestHeaders = new Headers(request.headers);
  requestHeaders.set("x-nonce", nonce);
  requestHeaders.set("content-security-policy", csp);
  const response = NextResponse.next({ request: { headers: requestHeaders } });
  response.headers.set("content-security-policy", csp);
  response.headers.set("cache-control", "private, no-store");
  return response;
}

// Prefetches (`Purpose: prefetch`, `Sec-Purpose: prefetch`, Next's router prefetch) run through the
// proxy too: they render the same page HTML, which must carry the nonce policy like any other.
export const config = {
  matcher: ["/((?!api/|_next/static|_next/image|favicon\\.svg|favicon\\.ico).*)"],
};
