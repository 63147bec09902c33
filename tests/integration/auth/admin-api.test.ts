import type { NextRequest } from "next/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { apiRequest, createTestUser, sessionCookieFor, signInWithPassword, useAuthEnv, type TestUser } from "@/tests/support/auth";

type Handler = (req: NextRequest, segment?: { params?: Promise<Record<string, string>> }) => Promise<Response>;
interface Routes {
  GET: Handler;
  POST: Handler;
  PATCH: Handler;
  DELETE: Handler;
}

const SECRET = "reg-pa55word-7f3c9e1d-never-shown";

/** Admin API: registry credentials encrypted at rest and never returned; users and roles; all audited. */
describe("admin API", () => {
  let tdb: TestDatabase;
  let admin: TestUser;
  let cookie: string;
  let creds: Routes;
  let users: Routes;

  const getDb = async () => (await import("@/lib/db/client")).getDb();
  const params = (id: string) => ({ params: Promise.resolve({ id }) });
  const adminEvents = async () =>
    (await (await getDb()).verificationEvent.findMany({ where: { kind: "admin" }, orderBy: { seq: "asc" } })).map((e) => ({ actor: e.actor, details: e.details }));

  beforeAll(async () => {
    tdb = await createTestDatabase();
    await useAuthEnv(tdb.url);
    ({ user: admin, cookie } = await sessionCookieFor("admin"));
    const list = await import("@/app/api/registry-credentials/route");
    const one = await import("@/app/api/registry-credentials/[id]/route");
    creds = { ...list, ...one } as unknown as Routes;
    const ul = await import("@/app/api/users/route");
    const uo = await import("@/app/api/users/[id]/route");
    users = { ...ul, ...uo } as unknown as Routes;
  });
  afterAll(async () => {
    await (await getDb()).$disconnect();
    await tdb?.drop();
  });

  it("stores a registry secret encrypted, returns it in no response, and audits who changed what", async () => {
    const created = await creds.POST(
      apiRequest("/api/registry-credentials", { method: "POST", cookie, body: { host: "Registry.Example.test:5000", username: "robot", secret: SECRET } }),
    );
    expect(created.status).toBe(200);
    const createdText = await created.text();
    expect(createdText).not.toContain(SECRET);
    const { credential } = JSON.parse(createdText) as { credential: { id: string; host: string; hasSecret: boolean } };
    expect(credential).toMatchObject({ host: "registry.example.test:5000", hasSecret: true });
    expect(Object.keys(credential)).not.toContain("secretEnc");

    const db = await getDb();
    const row = await db.registryCredential.findUniqueOrThrow({ where: { id: credential.id } });
    expect(row.secretEnc).toBeTruthy();
    expect(row.secretEnc).not.toContain(SECRET);
    expect(row.secretEnc).not.toBe(SECRET);
    expect(row.secretEnc!.startsWith("sv1:")).toBe(true);

    const { getRegistryCredentialForHost } = await import("@/lib/credentials/registry-credentials");
    expect(await getRegistryCredentialForHost(db, "registry.example.test:5000")).toMatchObject({ username: "robot", secret: SECRET });

    const listed = await creds.GET(apiRequest("/api/registry-credentials", { cookie }));
    const listedText = await listed.text();
    expect(listedText).toContain("registry.example.test:5000");
    expect(listedText).not.toContain(SECRET);
    expect(listedText).not.toContain(row.secretEnc!);
    expect(listed.headers.get("cache-control")).toBe("private, no-store");

    // a credential would make its host a configured registry: never for a cloud metadata address
    for (const host of ["169.254.169.254", "100.100.100.200:80"]) {
      const metadata = await creds.POST(apiRequest("/api/registry-credentials", { method: "POST", cookie, body: { host, username: "x", secret: "y" } }));
      expect(metadata.status, host).toBe(422);
      expect(await metadata.json()).toMatchObject({ error: { details: [{ path: "host", message: "must not be a cloud metadata address" }] } });
    }

    const duplicate = await creds.POST(apiRequest("/api/registry-credentials", { method: "POST", cookie, body: { host: "registry.example.test:5000" } }));
    expect(duplicate.status).toBe(409);

    const changed = await creds.PATCH(apiRequest(`/api/registry-credentials/${credential.id}`, { method: "PATCH", cookie, body: { secret: `${SECRET}-2` } }), params(credential.id));
    expect(changed.status).toBe(200);
    expect(await changed.text()).not.toContain(SECRET);
    expect((await getRegistryCredentialForHost(db, "registry.example.test:5000"))?.secret).toBe(`${SECRET}-2`);

    const deleted = await creds.DELETE(apiRequest(`/api/registry-credentials/${credential.id}`, { method: "DELETE", cookie }), params(credential.id));
    expect(deleted.status).toBe(200);
    expect(await db.registryCredential.count()).toBe(0);

    const events = await adminEvents();
    expect(JSON.stringify(events)).not.toContain(SECRET);
    expect(events.filter((e) => String((e.details as { action?: string }).action).startsWith("credential."))).toEqual([
      { actor: admin.email, details: { action: "credential.create", host: "registry.example.test:5000", username: "robot", hasSecret: true, insecure: false } },
      { actor: admin.email, details: { action: "credential.update", host: "registry.example.test:5000", changed: ["secret"] } },
      { actor: admin.email, details: { action: "credential.delete", host: "registry.example.test:5000" } },
    ]);
  });

  it("rejects invalid registry credentials with 422", async () => {
    const bad = await creds.POST(apiRequest("/api/registry-credentials", { method: "POST", cookie, body: { host: "https://not a host/" } }));
    expect(bad.status).toBe(422);
  });

  it("creates users, changes roles and deletes users, audited with the acting admin", async () => {
    const created = await users.POST(
      apiRequest("/api/users", { method: "POST", cookie, body: { email: "Carol@Example.test", name: "Carol", password: "carol's long password", role: "viewer" } }),
    );
    expect(created.status).toBe(200);
    const createdText = await created.text();
    expect(createdText).not.toContain("carol's long password");
    const { user: carol } = JSON.parse(createdText) as { user: { id: string; email: string } };
    expect(carol.email).toBe("carol@example.test");
    expect((await signInWithPassword("carol@example.test", "carol's long password")).res.status).toBe(200);
    const stored = await (await getDb()).account.findFirstOrThrow({ where: { userId: carol.id } });
    expect(stored.password).not.toContain("carol's long password");

    const promoted = await users.PATCH(apiRequest(`/api/users/${carol.id}`, { method: "PATCH", cookie, body: { role: "auditor" } }), params(carol.id));
    expect(await promoted.json()).toMatchObject({ user: { role: "auditor" } });

    const list = (await (await users.GET(apiRequest("/api/users", { cookie }))).json()) as { users: { email: string }[] };
    expect(list.users.map((u) => u.email)).toEqual(expect.arrayContaining([admin.email, "carol@example.test"]));
    // neither the password nor its hash leaves the server
    expect(JSON.stringify(list)).not.toContain(stored.password!.slice(0, 24));

    const removed = await users.DELETE(apiRequest(`/api/users/${carol.id}`, { method: "DELETE", cookie }), params(carol.id));
    expect(removed.status).toBe(200);

    const events = (await adminEvents()).filter((e) => (e.details as { user?: string }).user === "carol@example.test");
    expect(events).toEqual([
      { actor: admin.email, details: { action: "user.create", user: "carol@example.test", role: "viewer" } },
      { actor: admin.email, details: { action: "user.role", user: "carol@example.test", from: "viewer", to: "auditor" } },
      { actor: admin.email, details: { action: "user.delete", user: "carol@example.test", role: "auditor" } },
    ]);
  });

  it("keeps at least one administrator and refuses deleting yourself", async () => {
    const db = await getDb();
    await db.user.updateMany({ where: { role: "admin", id: { not: admin.id } }, data: { role: "viewer" } });
    const self = await users.DELETE(apiRequest(`/api/users/${admin.id}`, { method: "DELETE", cookie }), params(admin.id));
    expect(self.status).toBe(409);
    const demote = await users.PATCH(apiRequest(`/api/users/${admin.id}`, { method: "PATCH", cookie, body: { role: "viewer" } }), params(admin.id));
    expect(demote.status).toBe(409);
    expect((await db.user.findUniqueOrThrow({ where: { id: admin.id } })).role).toBe("admin");

    const other: TestUser = await createTestUser("admin");
    const ok = await users.PATCH(apiRequest(`/api/users/${admin.id}`, { method: "PATCH", cookie, body: { role: "viewer" } }), params(admin.id));
    expect(ok.status).toBe(200);
    expect((await db.user.findUniqueOrThrow({ where: { id: other.id } })).role).toBe("admin");
  });
});
