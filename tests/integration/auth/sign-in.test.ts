import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NextRequest } from "next/server";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { apiRequest, authRoute, createTestUser, CookieJar, nextClientIp, ORIGIN, signInWithPassword, useAuthEnv } from "@/tests/support/auth";

type Handler = (req: NextRequest) => Promise<Response>;

/**
 * Local sign-in end to end through the real route handlers and better-auth against PostgreSQL:
 * the first-admin setup link, sign-in, cookies, sign-out, expiry, rate limiting and CSRF.
 */
describe("sign-in with email and password", () => {
  let tdb: TestDatabase;
  let listUsers: Handler;

  const getDb = async () => (await import("@/lib/db/client")).getDb();

  beforeAll(async () => {
    tdb = await createTestDatabase();
    await useAuthEnv(tdb.url);
    listUsers = (await import("@/app/api/users/route")).GET as unknown as Handler;
  });
  afterAll(async () => {
    await (await getDb()).$disconnect();
    await tdb?.drop();
  });

  it("creates the first administrator from a one-time, single-use setup link and signs them in", async () => {
    const { issueSetupLink, isSetupTokenValid } = await import("@/lib/auth/setup");
    const { getEnv } = await import("@/lib/env");
    const db = await getDb();
    const first = await issueSetupLink(db, getEnv(), { rotate: true });
    expect(first).toMatch(new RegExp(`^${ORIGIN}/setup\\?token=[\\w-]{43}$`));
    // rotating replaces the earlier link; a non-rotating call keeps the valid one
    const link = await issueSetupLink(db, getEnv(), { rotate: true });
    expect(await issueSetupLink(db, getEnv(), { rotate: false })).toBeUndefined();
    const token = new URL(link!).searchParams.get("token")!;
    const oldToken = new URL(first!).searchParams.get("token")!;
    expect(await isSetupTokenValid(db, oldToken)).toBe(false);
    expect(await isSetupTokenValid(db, token)).toBe(true);
    // only the hash is stored
    const stored = await db.verification.findMany({ where: { identifier: "signet:first-admin-setup" } });
    expect(stored).toHaveLength(1);
    expect(JSON.stringify(stored)).not.toContain(token);

    const { POST } = (await import("@/app/api/auth/setup/route")) as unknown as { POST: Handler };
    const body = { token, name: "First Admin", email: "First.Admin@Example.test", password: "correct horse battery" };
    const weak = await POST(apiRequest("/api/auth/setup", { method: "POST", body: { ...body, password: "short" } }));
    expect(weak.status).toBe(422);
    const res = await POST(apiRequest("/api/auth/setup", { method: "POST", body }));
    expect(res.status).toBe(201);
    // an answer that sets the session cookie is never kept by a shared cache
    expect(res.headers.get("cache-control")).toBe("private, no-store");
    expect(await res.json()).toMatchObject({ user: { email: "first.admin@example.test", role: "admin", signIn: ["password"] } });
    const jar = new CookieJar().store(res);
    expect(jar.has("signet.session_token")).toBe(true);
    const list = await listUsers(apiRequest("/api/users", { cookie: jar.header() }));
    expect(list.status).toBe(200);

    // single use, and no link works once a user exists
    const again = await POST(apiRequest("/api/auth/setup", { method: "POST", body: { ...body, email: "second@example.test" } }));
    expect(again.status).toBe(403);
    expect(await issueSetupLink(db, getEnv(), { rotate: true })).toBeUndefined();
    const events = await db.verificationEvent.findMany({ where: { kind: "admin" } });
    expect(events.map((e) => [e.actor, e.details])).toContainEqual(["setup-link", { action: "user.create", user: "first.admin@example.test", role: "admin" }]);
  });

  it("signs in with the right password only, with httpOnly SameSite=Lax cookies, and signs out", async () => {
    const user = await createTestUser("viewer");
    const wrong = await signInWithPassword(user.email, "not the password at all");
    expect(wrong.res.status).toBe(401);
    expect(wrong.jar.has("signet.session_token")).toBe(false);

    const { res, jar } = await signInWithPassword(user.email.toUpperCase(), user.password);
    expect(res.status).toBe(200);
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith("signet.session_token="))!;
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expect(cookie).not.toMatch(/;\s*Secure/i);
    // 12 hours by default, from sign-in
    expect(cookie).toMatch(/Max-Age=43200/);
    expect(res.headers.get("cache-control")).toBe("private, no-store");
    // the session token lives only in the httpOnly cookie, never in a body script could read
    const token = cookie.split(";")[0]!.split("=")[1]!.split(".")[0]!;
    const body = await res.text();
    expect(body).not.toContain(token);
    expect(JSON.parse(body)).not.toHaveProperty("token");

    const { GET } = await authRoute();
    const session = await GET(apiRequest("/api/auth/get-session", { cookie: jar.header() }));
    const sessionBody = await session.text();
    expect(JSON.parse(sessionBody)).toMatchObject({ user: { email: user.email, role: "viewer" } });
    // get-session does not hand the token to script either
    expect(sessionBody).not.toContain(token);
    expect(JSON.parse(sessionBody).session).not.toHaveProperty("token");

    const { POST } = await authRoute();
    const out = await POST(apiRequest("/api/auth/sign-out", { method: "POST", cookie: jar.header(), body: {} }));
    expect(out.status).toBe(200);
    // the old cookie no longer opens anything
    const after = await listUsers(apiRequest("/api/users", { cookie: jar.header() }));
    expect(after.status).toBe(401);
  });

  it("ends a session at its expiry", async () => {
    const user = await createTestUser("admin");
    const { jar } = await signInWithPassword(user.email, user.password);
    expect((await listUsers(apiRequest("/api/users", { cookie: jar.header() }))).status).toBe(200);
    const db = await getDb();
    await db.session.updateMany({ where: { userId: user.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect((await listUsers(apiRequest("/api/users", { cookie: jar.header() }))).status).toBe(401);
  });

  it("applies a role change or a deleted user at the next request", async () => {
    const user = await createTestUser("admin");
    const { jar } = await signInWithPassword(user.email, user.password);
    const db = await getDb();
    await db.user.update({ where: { id: user.id }, data: { role: "viewer" } });
    expect((await listUsers(apiRequest("/api/users", { cookie: jar.header() }))).status).toBe(403);
    await db.user.delete({ where: { id: user.id } });
    expect((await listUsers(apiRequest("/api/users", { cookie: jar.header() }))).status).toBe(401);
  });

  it("rate-limits sign-in attempts per client address", async () => {
    const user = await createTestUser("viewer");
    const ip = nextClientIp();
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await signInWithPassword(user.email, `wrong password ${i}`, ip)).res.status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    // even the right password waits out the window from that address, not from another one
    expect((await signInWithPassword(user.email, user.password, ip)).res.status).toBe(429);
    expect((await signInWithPassword(user.email, user.password)).res.status).toBe(200);
  });

  it("backs off an account exponentially across addresses, with Retry-After, and audits failures in aggregate", async () => {
    const user = await createTestUser("viewer");
    const { FREE_ATTEMPTS } = await import("@/lib/auth/throttle");
    // every guess from a fresh address: the per-address limit never applies, the account's does
    const first: number[] = [];
    for (let i = 0; i < FREE_ATTEMPTS; i++) first.push((await signInWithPassword(user.email, `wrong password ${i}`)).res.status);
    expect(first).toEqual(Array(FREE_ATTEMPTS).fill(401));
    // then each failure makes the next attempt wait 1, 2, 4 ... s: guess until a wait of 2 s or more
    let failures = FREE_ATTEMPTS;
    let refused: Response | undefined;
    for (let i = 0; i < 10 && !refused; i++) {
      const { res } = await signInWithPassword(user.email, `more wrong ${i}`);
      if (res.status === 401) failures += 1;
      else if (res.status === 429 && Number(res.headers.get("retry-after")) >= 2) refused = res;
      else if (res.status === 429) await new Promise((r) => setTimeout(r, Number(res.headers.get("retry-after")) * 1000));
      else expect(res.status).toBe(429);
    }
    expect(refused).toBeDefined();
    expect(await refused!.json()).toMatchObject({ error: { code: "rate_limited", details: { retryAfterSeconds: expect.any(Number) } } });
    // the right password waits too
    const blocked = await signInWithPassword(user.email.toUpperCase(), user.password);
    expect(blocked.res.status).toBe(429);
    // after the wait the right password works and ends the back-off
    await new Promise((r) => setTimeout(r, Number(blocked.res.headers.get("retry-after")) * 1000 + 200));
    expect((await signInWithPassword(user.email, user.password)).res.status).toBe(200);
    expect((await signInWithPassword(user.email, "wrong again, but fresh")).res.status).toBe(401);

    // audit rows at the 1st, 2nd, 4th, 8th ... failure, then the 1st of the new streak: never one per guess
    const events = await (await getDb()).verificationEvent.findMany({ where: { kind: "system", actor: "auth" }, orderBy: { seq: "asc" } });
    const mine = events.map((e) => e.details as { action: string; account?: string; failures?: number; addresses?: string[] }).filter((d) => d.account === user.email);
    const powers = [1, 2, 4, 8, 16].filter((n) => n <= failures);
    expect(mine.map((d) => d.failures)).toEqual([...powers, 1]);
    expect(mine.every((d) => d.action === "auth.sign_in_failed")).toBe(true);
    expect(mine[2]!.addresses).toHaveLength(4);
  });

  it("aggregates a password spray per address: rows at its 1st to 8th failure, then at the 16th, 32nd ... never one per guess", async () => {
    const { recordFailedSignIn, takeAccountAttempt, SPRAY_FREE_FAILURES } = await import("@/lib/auth/throttle");
    const db = await getDb();
    const ip = nextClientIp();
    const accounts = Array.from({ length: 40 }, (_, i) => `spray-${i}-${ip}@example.test`);
    // the address window (5 a minute) would stop a real spray sooner; the aggregation is what is tested
    for (const a of accounts) {
      await takeAccountAttempt(db, a);
      await recordFailedSignIn(db, a, ip);
    }
    const events = await db.verificationEvent.findMany({ where: { kind: "system", actor: "auth" }, orderBy: { seq: "asc" } });
    const mine = events.map((e) => e.details as { action: string; address?: string; addressFailures?: number; accounts?: string[]; account?: string; failures?: number }).filter((d) => d.address === ip);
    expect(mine.map((d) => d.addressFailures)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 16, 32]);
    expect(SPRAY_FREE_FAILURES).toBe(8);
    expect(mine.every((d) => d.action === "auth.sign_in_failed")).toBe(true);
    // the 32nd failure names the last 10 accounts the address tried, and the account it failed on
    expect(mine[9]!.accounts).toEqual(accounts.slice(22, 32));
    expect(mine[9]!).toMatchObject({ account: accounts[31], failures: 1 });
  });

  it("forgets throttle rows untouched for a day, unless their back-off still runs", async () => {
    const { forgetQuietThrottles } = await import("@/lib/auth/throttle");
    const db = await getDb();
    const old = new Date(Date.now() - 2 * 86_400_000);
    await db.authThrottle.createMany({
      data: [
        { key: "test:quiet", attempts: 3, windowStart: old, updatedAt: old, addresses: [] },
        { key: "test:still-blocked", attempts: 30, windowStart: old, updatedAt: old, blockedUntil: new Date(Date.now() + 60_000), addresses: [] },
        { key: "test:recent", attempts: 1, windowStart: new Date(), updatedAt: new Date(), addresses: [] },
      ],
    });
    await forgetQuietThrottles(db);
    const left = await db.authThrottle.findMany({ where: { key: { startsWith: "test:" } }, select: { key: true } });
    expect(left.map((r) => r.key).sort()).toEqual(["test:recent", "test:still-blocked"]);
  });

  it("records the client address the web server resolved as the session's address", async () => {
    const user = await createTestUser("viewer");
    const ip = nextClientIp();
    const { POST } = await authRoute();
    const res = await POST(
      apiRequest("/api/auth/sign-in/email", { method: "POST", body: { email: user.email, password: user.password }, ip, headers: { "x-forwarded-for": "203.0.113.99" } }),
    );
    expect(res.status).toBe(200);
    const sessions = await (await getDb()).session.findMany({ where: { userId: user.id } });
    expect(sessions.map((s) => s.ipAddress)).toEqual([ip]);
  });

  it("refuses cross-site state changes that carry a session cookie", async () => {
    const admin = await createTestUser("admin");
    const { jar } = await signInWithPassword(admin.email, admin.password);
    const { POST } = (await import("@/app/api/users/route")) as unknown as { POST: Handler };
    const body = { email: "csrf@example.test", name: "CSRF", password: "long enough password", role: "admin" };
    const evil = await POST(apiRequest("/api/users", { method: "POST", cookie: jar.header(), body, origin: "https://evil.example" }));
    expect(evil.status).toBe(403);
    const noOrigin = await POST(apiRequest("/api/users", { method: "POST", cookie: jar.header(), body, origin: null }));
    expect(noOrigin.status).toBe(403);
    const crossSite = await POST(apiRequest("/api/users", { method: "POST", cookie: jar.header(), body, headers: { "sec-fetch-site": "cross-site" } }));
    expect(crossSite.status).toBe(403);
    expect(await (await getDb()).user.findUnique({ where: { email: "csrf@example.test" } })).toBeNull();
    const ok = await POST(apiRequest("/api/users", { method: "POST", cookie: jar.header(), body, headers: { "sec-fetch-site": "same-origin" } }));
    expect(ok.status).toBe(200);
  });

  it("exposes only the better-auth endpoints Signet uses", async () => {
    const { POST } = await authRoute();
    const signUp = await POST(apiRequest("/api/auth/sign-up/email", { method: "POST", body: { email: "x@example.test", password: "long enough password", name: "x" } }));
    expect(signUp.status).toBe(404);
    const admin = await createTestUser("viewer");
    const { jar } = await signInWithPassword(admin.email, admin.password);
    // a user cannot give themselves a role through better-auth's profile update
    const update = await POST(apiRequest("/api/auth/update-user", { method: "POST", cookie: jar.header(), body: { role: "admin" } }));
    expect(update.status).toBe(404);
    expect((await (await getDb()).user.findUnique({ where: { id: admin.id } }))?.role).toBe("viewer");
  });

  it("marks cookies Secure with the __Secure- prefix when served over https", async () => {
    const user = await createTestUser("viewer");
    await useAuthEnv(tdb.url, { SIGNET_PUBLIC_URL: "https://signet.example.test" });
    try {
      const { POST } = await authRoute();
      const res = await POST(
        apiRequest("/api/auth/sign-in/email", { method: "POST", body: { email: user.email, password: user.password }, origin: "https://signet.example.test", ip: nextClientIp() }),
      );
      expect(res.status).toBe(200);
      const cookie = res.headers.getSetCookie().find((c) => c.includes("session_token="))!;
      expect(cookie).toMatch(/^__Secure-signet\.session_token=/);
      expect(cookie).toMatch(/;\s*Secure/i);
    } finally {
      await useAuthEnv(tdb.url, { SIGNET_PUBLIC_URL: ORIGIN });
    }
  });
});
