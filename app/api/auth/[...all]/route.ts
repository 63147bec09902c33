import { ApiError } from "@/lib/api/errors";
import { route } from "@/lib/api/route";
import { getAuth, runAuthRequest } from "@/lib/auth/auth";

export const dynamic = "force-dynamic";

/**
 * better-auth's endpoints, through the route wrapper (CSRF check, error envelope). Only the endpoints
 * Signet uses are reachable; the rest of better-auth's API (sign-up, profile and email changes,
 * account linking...) answers 404, so no request can reach a feature Signet does not configure.
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
 * better-auth also returns the session token in sign-in bodies (for bearer clients). Signet's session
 * lives only in the httpOnly cookie, so the copy that script could read is removed.
 */
async function withoutBodyToken(res: Response): Promise<Response> {
  if (!res.headers.get("content-type")?.includes("application/json")) return res;
  const data: unknown = await res.json();
  if (data && typeof data === "object" && "token" in data) delete (data as { token?: unknown }).token;
  const headers = new Headers(res.headers);
  headers.delete("content-length");
  return new Response(JSON.stringify(data), { status: res.status, statusText: res.statusText, headers });
}

const handle = route({ access: "public" }, async ({ req }) => {
  const path = req.nextUrl.pathname.replace(/^\/api\/auth/, "");
  if (!ENDPOINTS.some((e) => e.method === req.method && e.path.test(path))) throw new ApiError("not_found", "No such endpoint.");
  const res = await runAuthRequest(() => getAuth().handler(req));
  return path.startsWith("/sign-in/") ? withoutBodyToken(res) : res;
});

export const GET = handle;
export const POST = handle;
