import { generateKeyPairSync } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiRequest, sessionCookieFor, useAuthEnv } from "@/tests/support/auth";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";

/**
 * The admin API of webhooks, keys and reminder settings through the real route handlers: webhook
 * URLs (which carry tokens) are never returned, viewers read keys and reminders but change nothing,
 * and every change is an admin audit event with the acting user.
 */
describe("trust and notification API", () => {
  let tdb: TestDatabase;
  let admin: string;
  let viewer: string;
  let adminEmail: string;
  const TOKEN = "xoxb-secret-token-6f2e9a";
  const params = (p: Record<string, string>) => ({ params: Promise.resolve(p) });
  const getDb = async () => (await import("@/lib/db/client")).getDb();

  beforeAll(async () => {
    tdb = await createTestDatabase();
    await useAuthEnv(tdb.url);
    let u;
    ({ user: u, cookie: admin } = await sessionCookieFor("admin"));
    adminEmail = u.email;
    ({ cookie: viewer } = await sessionCookieFor("viewer"));
  });
  afterAll(async () => {
    await (await getDb()).$disconnect();
    await tdb?.drop();
  });

  it("keeps webhook URLs secret: encrypted at rest, shown as scheme://host/… only, admin-only", async () => {
    const hooks = await import("@/app/api/webhooks/route");
    const one = await import("@/app/api/webhooks/[id]/route");
    const deliveries = await import("@/app/api/webhooks/[id]/deliveries/route");
    const url = `https://hooks.slack.test/services/T000/B000/${TOKEN}?x=1`;
    const created = await hooks.POST(apiRequest("/api/webhooks", { method: "POST", cookie: admin, body: { name: "ops", url, format: "slack", events: ["reminder"] } }));
    expect(created.status).toBe(200);
    const text = await created.text();
    expect(text).not.toContain(TOKEN);
    const { webhook } = JSON.parse(text) as { webhook: { id: string; urlHint: string; events: string[] } };
    expect(webhook).toMatchObject({ urlHint: "https://hooks.slack.test/…", events: ["reminder"] });
    const listed = await hooks.GET(apiRequest("/api/webhooks", { cookie: admin }));
    expect(await listed.text()).not.toContain(TOKEN);
    const row = await (await getDb()).webhookEndpoint.findUniqueOrThrow({ where: { id: webhook.id } });
    expect(row.urlEnc.startsWith("sv1:")).toBe(true);
    expect(row.urlEnc).not.toContain(TOKEN);

    expect((await hooks.GET(apiRequest("/api/webhooks", { cookie: viewer }))).status).toBe(403);
    expect((await hooks.POST(apiRequest("/api/webhooks", { method: "POST", cookie: viewer, body: { name: "x", url } }))).status).toBe(403);
    expect((await hooks.POST(apiRequest("/api/webhooks", { method: "POST", cookie: admin, body: { name: "bad", url: "ftp://x.test/" } }))).status).toBe(422);
    expect((await hooks.POST(apiRequest("/api/webhooks", { method: "POST", cookie: admin, body: { name: "ops", url } }))).status).toBe(409);

    const log = await deliveries.GET(apiRequest(`/api/webhooks/${webhook.id}/deliveries`, { cookie: admin }), params({ id: webhook.id }));
    expect(await log.json()).toEqual({ deliveries: [] });
    expect((await one.DELETE(apiRequest(`/api/webhooks/${webhook.id}`, { method: "DELETE", cookie: admin }), params({ id: webhook.id }))).status).toBe(200);
    const events = await (await getDb()).verificationEvent.findMany({ where: { kind: "admin" }, orderBy: { seq: "asc" } });
    const actions = events.filter((e) => String((e.details as { action?: string }).action).startsWith("webhook."));
    expect(actions.map((e) => [e.actor, (e.details as { action: string }).action])).toEqual([
      [adminEmail, "webhook.create"],
      [adminEmail, "webhook.delete"],
    ]);
    expect(JSON.stringify(actions.map((e) => e.details))).not.toContain(TOKEN);
  });

  it("adds a key, sets its rotate-by date, and reminds viewers in their time zone", async () => {
    const list = await import("@/app/api/authorities/route");
    const one = await import("@/app/api/authorities/[ref]/route");
    const reminders = await import("@/app/api/reminders/route");
    const settings = await import("@/app/api/reminders/settings/route");
    const preview = await import("@/app/api/authorities/[ref]/revoke/route");
    const pem = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "pem" }).toString();

    expect((await list.POST(apiRequest("/api/authorities", { method: "POST", cookie: viewer, body: { name: "ci", publicKeyPem: pem } }))).status).toBe(403);
    const created = await list.POST(apiRequest("/api/authorities", { method: "POST", cookie: admin, body: { name: "ci", publicKeyPem: pem, owner: "platform", source: "cosign.pub" } }));
    expect(created.status).toBe(200);
    expect(((await created.json()) as { authority: { fingerprint: string } }).authority.fingerprint).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect((await list.POST(apiRequest("/api/authorities", { method: "POST", cookie: admin, body: { name: "ci2", publicKeyPem: pem } }))).status).toBe(409);

    const rotateBy = new Date(Date.now() + 3 * 86_400_000 + 3_600_000).toISOString();
    const patched = await one.PATCH(apiRequest("/api/authorities/ci", { method: "PATCH", cookie: admin, body: { rotateBy } }), params({ ref: "ci" }));
    expect(patched.status).toBe(200);
    const inv = (await (await list.GET(apiRequest("/api/authorities", { cookie: viewer }))).json()) as { authorities: { name: string; rotateBy: string; owner: string; status: string; usage: unknown }[] };
    expect(inv.authorities).toMatchObject([{ name: "ci", rotateBy, owner: "platform", status: "active", usage: { containers: 0, images: 0, namespaces: 0 } }]);

    const r = (await (await reminders.GET(apiRequest("/api/reminders?tz=Asia/Tokyo", { cookie: viewer }))).json()) as { reminders: { id: string; severity: string; daysLeft: number }[] };
    expect(r.reminders.find((x) => x.id === "rotate-by:stored:ci")).toMatchObject({ severity: "due-soon" });
    expect((await reminders.GET(apiRequest("/api/reminders?tz=Mars/Olympus", { cookie: viewer }))).status).toBe(422);

    expect((await settings.PATCH(apiRequest("/api/reminders/settings", { method: "PATCH", cookie: viewer, body: { reminderDays: 2 } }))).status).toBe(403);
    const s = await settings.PATCH(apiRequest("/api/reminders/settings", { method: "PATCH", cookie: admin, body: { reminderDays: 2, retireSafeDays: 14 } }));
    expect(await s.json()).toEqual({ settings: { reminderDays: 2, retireSafeDays: 14 } });
    const later = (await (await reminders.GET(apiRequest("/api/reminders", { cookie: viewer }))).json()) as { reminders: { id: string }[] };
    expect(later.reminders.find((x) => x.id === "rotate-by:stored:ci")).toBeUndefined();

    // a viewer may preview a revocation, but not revoke
    const p = await preview.GET(apiRequest("/api/authorities/ci/revoke", { cookie: viewer }), params({ ref: "ci" }));
    expect(await p.json()).toMatchObject({ label: "ci", radius: { containers: 0, affected: [] } });
    expect((await preview.POST(apiRequest("/api/authorities/ci/revoke", { method: "POST", cookie: viewer, body: { reason: "leak", confirm: "ci" } }), params({ ref: "ci" }))).status).toBe(403);
    const wrong = await preview.POST(apiRequest("/api/authorities/ci/revoke", { method: "POST", cookie: admin, body: { reason: "leak", confirm: "nope" } }), params({ ref: "ci" }));
    expect(wrong.status).toBe(400);
    expect((await (await getDb()).authority.findUniqueOrThrow({ where: { name: "ci" } })).status).toBe("active");
  });
});
