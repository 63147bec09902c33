import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { apiRequest, authRoute, CookieJar, createTestUser, ORIGIN, useAuthEnv } from "@/tests/support/auth";
import { startOidcIssuer, type OidcIssuer } from "@/tests/support/oidc-issuer";

/**
 * OpenID Connect single sign-on against a local identity provider: the whole authorization-code flow
 * with PKCE through the real routes, group → role mapping re-evaluated at each sign-in.
 */
describe("OIDC single sign-on", () => {
  let tdb: TestDatabase;
  let idp: OidcIssuer;

  const getDb = async () => (await import("@/lib/db/client")).getDb();
  const oidcEnv = (extra: Record<string, string> = {}) => ({
    SIGNET_OIDC_ISSUER: idp.issuer,
    SIGNET_OIDC_CLIENT_ID: idp.clientId,
    SIGNET_OIDC_CLIENT_SECRET: idp.clientSecret,
    SIGNET_OIDC_SCOPES: "openid email profile groups",
    SIGNET_OIDC_ROLE_MAP: "signet-admins=admin, signet-auditors=auditor",
    SIGNET_OIDC_DEFAULT_ROLE: "viewer",
    ...extra,
  });

  /** Browser-like: start at Signet, follow the identity provider's redirect back, land with cookies. */
  async function ssoSignIn() {
    const jar = new CookieJar();
    const { GET, POST } = await authRoute();
    const start = await POST(apiRequest("/api/auth/sign-in/social", { method: "POST", body: { provider: "oidc", callbackURL: "/", errorCallbackURL: "/sign-in" } }));
    expect(start.status).toBe(200);
    jar.store(start);
    const { url } = (await start.json()) as { url: string };
    expect(url.startsWith(`${idp.issuer}/authorize?`)).toBe(true);
    expect(new URL(url).searchParams.get("code_challenge_method")).toBe("S256");
    const atIdp = await fetch(url, { redirect: "manual" });
    expect(atIdp.status).toBe(302);
    const done = await GET(apiRequest(atIdp.headers.get("location")!, { cookie: jar.header() }));
    jar.store(done);
    const location = new URL(done.headers.get("location") ?? "/", ORIGIN);
    const session = jar.has("signet.session_token")
      ? ((await (await GET(apiRequest("/api/auth/get-session", { cookie: jar.header() }))).json()) as { user: { id: string; email: string; role: string } } | null)
      : null;
    return { status: done.status, location, session };
  }

  beforeAll(async () => {
    tdb = await createTestDatabase();
    idp = await startOidcIssuer();
    await useAuthEnv(tdb.url, oidcEnv());
  });
  afterAll(async () => {
    await (await getDb()).$disconnect();
    await idp?.close();
    await tdb?.drop();
  });

  it("signs in a new SSO user with the role their groups grant, storing provider tokens encrypted", async () => {
    idp.setUser({ sub: "sub-ada", email: "ada@idp.test", name: "Ada", groups: ["engineering", "signet-auditors"] });
    const { status, location, session } = await ssoSignIn();
    expect(status).toBe(302);
    expect(location.toString()).toBe(`${ORIGIN}/`);
    expect(session?.user).toMatchObject({ email: "ada@idp.test", role: "auditor" });
    expect(idp.redirectUris.at(-1)).toBe(`${ORIGIN}/api/auth/callback/oidc`);

    const account = await (await getDb()).account.findFirstOrThrow({ where: { providerId: "oidc", accountId: "sub-ada" } });
    expect(account.password).toBeNull();
    expect(account.accessToken).toBeTruthy();
    expect(account.accessToken).not.toContain(idp.accessTokens.at(-1)!);
    // the ID token was verified at sign-in and is not kept
    expect(account.idToken).toBeNull();
    // the creation is audited with the role the groups granted
    const created = await (await getDb()).verificationEvent.findMany({ where: { kind: "admin", actor: "sso" } });
    expect(created.map((e) => e.details)).toContainEqual({ action: "user.create", user: "ada@idp.test", role: "auditor", groups: ["engineering", "signet-auditors"] });
  });

  it("re-evaluates the role from the groups at each sign-in, and audits the change", async () => {
    idp.setUser({ sub: "sub-bob", email: "bob@idp.test", name: "Bob", groups: ["signet-auditors"] });
    expect((await ssoSignIn()).session?.user.role).toBe("auditor");

    idp.setUser({ sub: "sub-bob", email: "bob@idp.test", name: "Bob", groups: ["signet-auditors", "signet-admins"] });
    const promoted = await ssoSignIn();
    expect(promoted.session?.user.role).toBe("admin");

    idp.setUser({ sub: "sub-bob", email: "bob@idp.test", name: "Bob", groups: [] });
    expect((await ssoSignIn()).session?.user.role).toBe("viewer");

    const events = await (await getDb()).verificationEvent.findMany({ where: { kind: "admin", actor: "sso" }, orderBy: { seq: "asc" } });
    const bob = events.map((e) => e.details as { user: string; from: string; to: string }).filter((d) => d.user === "bob@idp.test");
    expect(bob.map((d) => ("from" in d ? `${d.from}->${d.to}` : `created ${(d as { role?: string }).role}`))).toEqual(["created auditor", "auditor->admin", "admin->viewer"]);
  });

  it("never signs an SSO identity into a local account that shares its email", async () => {
    const local = await createTestUser("admin");
    idp.setUser({ sub: "sub-mallory", email: local.email, name: "Mallory", groups: ["signet-admins"] });
    const { location, session } = await ssoSignIn();
    expect(session).toBeNull();
    expect(location.pathname).toBe("/sign-in");
    expect(location.searchParams.get("error")).toBe("account_not_linked");
    expect(await (await getDb()).account.count({ where: { providerId: "oidc", accountId: "sub-mallory" } })).toBe(0);
  });

  it("refuses users in no mapped group when the default role is none", async () => {
    await useAuthEnv(tdb.url, oidcEnv({ SIGNET_OIDC_DEFAULT_ROLE: "none" }));
    try {
      idp.setUser({ sub: "sub-eve", email: "eve@idp.test", name: "Eve", groups: ["marketing"] });
      const refused = await ssoSignIn();
      expect(refused.session).toBeNull();
      expect(refused.location.pathname).toBe("/sign-in");
      expect(refused.location.searchParams.get("error")).toBe("no_role");
      expect(await (await getDb()).session.count({ where: { user: { email: "eve@idp.test" } } })).toBe(0);
      // refused before the user row is written: no user, no account
      expect(await (await getDb()).user.count({ where: { email: "eve@idp.test" } })).toBe(0);
      expect(await (await getDb()).account.count({ where: { providerId: "oidc", accountId: "sub-eve" } })).toBe(0);

      idp.setUser({ sub: "sub-eve", email: "eve@idp.test", name: "Eve", groups: ["marketing", "signet-auditors"] });
      expect((await ssoSignIn()).session?.user.role).toBe("auditor");
    } finally {
      await useAuthEnv(tdb.url, oidcEnv());
    }
  });

  it("fails the sign-in when the identity provider rejects Signet's client secret", async () => {
    await useAuthEnv(tdb.url, oidcEnv({ SIGNET_OIDC_CLIENT_SECRET: "not-the-secret" }));
    try {
      idp.setUser({ sub: "sub-zed", email: "zed@idp.test", name: "Zed", groups: ["signet-admins"] });
      const { session, location } = await ssoSignIn();
      expect(session).toBeNull();
      expect(location.pathname).toBe("/sign-in");
      expect(location.searchParams.get("error")).toBeTruthy();
    } finally {
      await useAuthEnv(tdb.url, oidcEnv());
    }
  });
});
