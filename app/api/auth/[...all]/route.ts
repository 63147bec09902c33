import { ApiError, type ApiErrorCode } from "@/lib/api/errors";
import { route } from "@/lib/api/route";
import { getAuth, runAuthRequest } from "@/lib/auth/auth";
import { clearAccount, recordFailedSignIn, SIGN_IN_PER_ADDRESS, SSO_PER_ADDRESS, takeAccountAttempt, takeAddressAttempt } from "@/lib/auth/throttle";
import { getDb } from "@/lib/db/client";
import { clientAddressOf } from "@/lib/net/client-address";

export const dynamic = "force-dynamic";

/**
 * better-auth's endpoints, through the route wrapper (CSRF check, body limit, error envelope). Only
 * the endpoints Signet uses are reachable; the rest of better-auth's API (sign-up, profile and email
 * changes, account linking...) answers 404, so no request can reach a feature Signet does not configure.
 */
const ENDPOINTS: { method: string; path: RegExp }[] = [
  { method: "POST", path: /^\/sign-in\/email$/ },
  { method: "POST", path: /^\/sign-in\/social$/ },
  { method: "GET", path: /^\/callback\/[\w-]+$/ },
  { method: "POST", path: /^\/callback\/[\w-]+$/ },
  { method: "POST", path: /^\/sign-out$/ },
  { method: "GET", path: /^\/get-session$/ },
];

/**
 * better-auth returns the session token in sign-in and get-session bodies (for bearer clients).
 * Signet's session lives only in the httpOnly cookie, so the copies that script could read are removed.
 */
async function withoutBodyToken(res: Response): Promise<Response> {
  if (!res.headers.get("content-type")?.includes("application/json")) return res;
  const data: unknown = await res.json();
  if (data && typeof data === "object") {
    if ("token" in data) delete (data as { token?: unknown }).token;
    const session = (data as { session?: unknown }).session;
    if (session && typeof session === "object" && "token" in session) delete (session as { token?: unknown }).token;
  }
  const headers = new Headers(res.headers);
  headers.delete("content-length");
  return new Response(JSON.stringify(data), { status: res.status, statusText: res.statusText, headers });
}

const CODE_BY_STATUS: Record<number, ApiErrorCode> = {
  400: "bad_request",
  401: "unauthenticated",
  403: "forbidden",
  404: "not_found",
  409: "conflict",
  413: "payload_too_large",
  422: "validation_failed",
  429: "rate_limited",
};

/** better-auth's own error bodies (`{ code, message }`) in Signet's one envelope; its code kept as `details.reason`. */
async function inEnvelope(res: Response): Promise<Response> {
  if (res.status < 400 || !res.headers.get("content-type")?.includes("application/json")) return res;
  const data = (await res.json().catch(() => ({}))) as { code?: unknown; message?: unknown };
  const code = CODE_BY_STATUS[res.status] ?? (res.status >= 500 ? "internal" : "bad_request");
  const message = typeof data.message === "string" ? data.message : "The request was refused.";
  const headers = new Headers(res.headers);
  headers.delete("content-length");
  const reason = typeof data.code === "string" ? { reason: data.code } : undefined;
  return new Response(JSON.stringify({ error: { code, message, ...(reason ? { details: reason } : {}) } }), { status: res.status, headers });
}

/** The email a password sign-in asks for (better-auth validates the body itself; this only keys the throttle). */
function emailOf(rawBody: Uint8Array | undefined): string | undefined {
  try {
    const email = (JSON.parse(new TextDecoder().decode(rawBody ?? new Uint8Array())) as { email?: unknown }).email;
    return typeof email === "string" && email.length <= 254 ? email.trim().toLowerCase() : undefined;
  } catch {
    return undefined;
  }
}

const handle = route({ access: "public" }, async ({ req, rawBody }) => {
  const path = req.nextUrl.pathname.replace(/^\/api\/auth/, "");
  if (!ENDPOINTS.some((e) => e.method === req.method && e.path.test(path))) throw new ApiError("not_found", "No such endpoint.");
  const db = getDb();
  const address = clientAddressOf(req.headers);
  const email = path === "/sign-in/email" ? emailOf(rawBody) : undefined;
  if (path === "/sign-in/email") {
    await takeAddressAttempt(db, address, SIGN_IN_PER_ADDRESS);
    if (email) await takeAccountAttempt(db, email);
  } else if (path === "/sign-in/social") {
    await takeAddressAttempt(db, address, SSO_PER_ADDRESS);
  }
  // the body was read (within the route's limit) by the wrapper; better-auth gets it from memory
  const forwarded = new Request(req.url, { method: req.method, headers: req.headers, body: rawBody ?? null });
  const res = await runAuthRequest(() => getAuth().handler(forwarded));
  if (email) {
    if (res.status === 200) await clearAccount(db, email);
    else if (res.status === 401) await recordFailedSignIn(db, email, address);
  }
  if (res.status >= 400) return inEnvelope(res);
  return path.startsWith("/sign-in/") || path === "/get-session" ? withoutBodyToken(res) : res;
});

export const GET = handle;
export const POST = handle;
