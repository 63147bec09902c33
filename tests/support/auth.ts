import { randomBytes } from "node:crypto";
import { NextRequest } from "next/server";
import type { Role } from "@/lib/auth/roles";
import { CLIENT_ADDRESS_HEADER, markClientAddressResolved } from "@/lib/net/client-address";

// in process the tests play scripts/web.ts: the client address header they set is believed
markClientAddressResolved();

/** Origin the in-process tests address Signet by (SIGNET_PUBLIC_URL). */
export const ORIGIN = "http://localhost";

/** Points the in-process app at a test database with a fresh secret key, and drops cached singletons. */
export async function useAuthEnv(databaseUrl: string, extra: Record<string, string | undefined> = {}): Promise<void> {
  process.env.DATABASE_URL = databaseUrl;
  process.env.SIGNET_PUBLIC_URL = ORIGIN;
  process.env.SIGNET_SECRET_KEY ??= randomBytes(32).toString("base64");
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  const [{ resetEnvCache }, { resetAuth }, { resetKeyring }] = await Promise.all([
    import("@/lib/env"),
    import("@/lib/auth/auth"),
    import("@/lib/crypto/keys"),
  ]);
  resetEnvCache();
  resetKeyring();
  resetAuth();
}

/** A tiny cookie jar: what Set-Cookie headers set, as a Cookie header. */
export class CookieJar {
  private readonly cookies = new Map<string, string>();
  store(res: Response): this {
    for (const line of res.headers.getSetCookie()) {
      const [pair = ""] = line.split(";");
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (!value || /max-age=0\b/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return this;
  }
  has(name: string): boolean {
    return this.cookies.has(name);
  }
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }
}

let ipCounter = 0;
/** A distinct client address per caller, so sign-in rate limits of one test do not leak into another. */
export function nextClientIp(): string {
  ipCounter += 1;
  return `10.${(ipCounter >> 16) & 255}.${(ipCounter >> 8) & 255}.${ipCounter & 255}`;
}

export interface ApiCall {
  method?: string;
  cookie?: string;
  body?: unknown;
  origin?: string | null;
  ip?: string;
  headers?: Record<string, string>;
}

/** A request as a browser on Signet's own origin sends it (Origin on state changes). */
export function apiRequest(pathAndQuery: string, call: ApiCall = {}): NextRequest {
  const method = call.method ?? "GET";
  const headers = new Headers(call.headers);
  if (call.cookie) headers.set("cookie", call.cookie);
  if (call.origin !== null && method !== "GET") headers.set("origin", call.origin ?? ORIGIN);
  // what scripts/web.ts sets from the socket (in process there is no socket)
  headers.set(CLIENT_ADDRESS_HEADER, call.ip ?? "10.255.255.254");
  if (call.body !== undefined) headers.set("content-type", "application/json");
  return new NextRequest(new URL(pathAndQuery, ORIGIN), {
    method,
    headers,
    body: call.body === undefined ? undefined : JSON.stringify(call.body),
  });
}

type AuthHandler = (req: NextRequest) => Promise<Response>;

/** better-auth's catch-all route, as Next calls it. */
export async function authRoute(): Promise<{ GET: AuthHandler; POST: AuthHandler }> {
  return (await import("@/app/api/auth/[...all]/route")) as unknown as { GET: AuthHandler; POST: AuthHandler };
}

/** Signs in with email + password through the real route; returns the response and the session cookie jar. */
export async function signInWithPassword(email: string, password: string, ip = nextClientIp()): Promise<{ res: Response; jar: CookieJar }> {
  const { POST } = await authRoute();
  const res = await POST(apiRequest("/api/auth/sign-in/email", { method: "POST", body: { email, password }, ip }));
  return { res, jar: new CookieJar().store(res) };
}

export interface TestUser {
  id: string;
  email: string;
  password: string;
  role: Role;
}

/** Creates a local user with a random email and password. */
export async function createTestUser(role: Role, actor = "test"): Promise<TestUser> {
  const [{ createLocalUser }, { getDb }] = await Promise.all([import("@/lib/auth/users"), import("@/lib/db/client")]);
  const email = `${role}-${randomBytes(4).toString("hex")}@example.test`;
  const password = `pw-${randomBytes(12).toString("base64url")}`;
  const user = await createLocalUser(getDb(), { email, name: `Test ${role}`, password, role }, actor);
  return { id: user.id, email, password, role };
}

/** Creates a user of the role and signs them in; returns their Cookie header. */
export async function sessionCookieFor(role: Role): Promise<{ user: TestUser; cookie: string }> {
  const user = await createTestUser(role);
  const { res, jar } = await signInWithPassword(user.email, user.password);
  if (res.status !== 200) throw new Error(`sign-in of the test ${role} failed with ${res.status}: ${await res.text()}`);
  return { user, cookie: jar.header() };
}
