import { randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ApiError } from "@/lib/api/errors";
import { getKeyring, resetKeyring } from "@/lib/crypto/keys";
import { encryptSecret } from "@/lib/crypto/secrets";
import { createDb, type Db } from "@/lib/db/client";
import { createEgressFetch } from "@/lib/egress/fetch";
import { getEnv, resetEnvCache } from "@/lib/env";
import { urlHint } from "@/lib/notify/format";
import { attemptDelivery, createWebhook, queueNotification } from "@/lib/notify/webhooks";
import { apiRequest, sessionCookieFor, useAuthEnv } from "@/tests/support/auth";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";

/**
 * Webhook destinations go through the egress guard: internal addresses are refused when the URL is
 * saved (through the real route: 422) and again at delivery (an endpoint stored before the rule, or
 * a name resolving to loopback), where the delivery fails at once and no connection is made.
 */
describe("webhook egress", () => {
  let tdb: TestDatabase;
  let db: Db;
  let server: http.Server;
  let port: number;
  let connections = 0;
  let admin: string;
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    tdb = await createTestDatabase();
    await useAuthEnv(tdb.url);
    db = createDb(tdb.url, 2);
    ({ cookie: admin } = await sessionCookieFor("admin"));
    server = http.createServer((_req, res) => res.end());
    server.on("connection", (s) => {
      connections++;
      sockets.add(s);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
  });
  beforeEach(() => {
    delete process.env.SIGNET_EGRESS_ALLOW_INTERNAL;
    delete process.env.SIGNET_EGRESS_REFUSE_PRIVATE;
    resetEnvCache();
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server?.close(r));
    await db?.$disconnect();
    await tdb?.drop();
  });

  /** A stored endpoint as if saved before the rule existed (or before the environment changed). */
  async function storedEndpoint(url: string): Promise<string> {
    const name = `e-${randomBytes(4).toString("hex")}`;
    resetKeyring();
    const ep = await db.webhookEndpoint.create({ data: { name, format: "generic", events: [], urlEnc: encryptSecret(getKeyring(getEnv()), url, `webhook-endpoint:${name}`), urlHint: urlHint(url) } });
    await db.webhookEndpoint.updateMany({ where: { id: { not: ep.id } }, data: { enabled: false } });
    const [id] = await queueNotification(db, { event: "reminder", dedupeKey: `k-${name}`, occurredAt: new Date().toISOString(), summary: "s", lines: [] });
    return id!;
  }

  it.each([
    ["the metadata address", "http://169.254.169.254/latest/meta-data/", /metadata address \(169\.254\.169\.254\)/],
    ["the IPv4-mapped metadata address", "http://[::ffff:169.254.169.254]/", /metadata address/],
    ["loopback", "http://127.0.0.1:9/hook", /loopback address \(127\.0\.0\.1\)/],
    ["IPv6 loopback", "http://[::1]:9/hook", /loopback address/],
    ["localhost", "http://localhost:9/hook", /loopback address/],
    ["a *.localhost name", "https://hooks.localhost/x", /loopback address/],
    ["0.0.0.0", "http://0.0.0.0:9/", /unspecified address/],
  ])("refuses %s when the webhook is saved (422 through the route)", async (_what, url, reason) => {
    const hooks = await import("@/app/api/webhooks/route");
    const res = await hooks.POST(apiRequest("/api/webhooks", { method: "POST", cookie: admin, body: { name: `x-${randomBytes(3).toString("hex")}`, url } }));
    expect(res.status).toBe(422);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("validation_failed");
    expect(body.error.message).toMatch(reason);
    expect(await db.webhookEndpoint.count({ where: { urlHint: urlHint(url) } })).toBe(0);
  });

  it("refuses credentials in the URL, private addresses only with SIGNET_EGRESS_REFUSE_PRIVATE, loopback when listed", async () => {
    await expect(createWebhook(db, { name: "creds", url: "https://u:p@hooks.example.test/x" }, "admin@test")).rejects.toThrow(/user name or password/);
    expect((await createWebhook(db, { name: "lan", url: "http://10.1.2.3/hook" }, "admin@test")).urlHint).toBe("http://10.1.2.3/…");
    process.env.SIGNET_EGRESS_REFUSE_PRIVATE = "true";
    resetEnvCache();
    const err = await createWebhook(db, { name: "lan2", url: "http://10.1.2.3/hook" }, "admin@test").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).message).toMatch(/private address \(10\.1\.2\.3\)/);
    process.env.SIGNET_EGRESS_ALLOW_INTERNAL = `127.0.0.1:${port}`;
    resetEnvCache();
    await expect(createWebhook(db, { name: "listed", url: `http://127.0.0.1:${port}/hook` }, "admin@test")).resolves.toMatchObject({ name: "listed" });
    await expect(createWebhook(db, { name: "other-port", url: `http://127.0.0.1:${port + 1}/hook` }, "admin@test")).rejects.toThrow(/loopback/);
    expect(connections).toBe(0);
  });

  it.each([
    ["loopback", () => `http://127.0.0.1:${port}/hook`, /refused by the egress guard: webhook 127\.0\.0\.1:\d+ resolves to a loopback address/],
    ["the metadata address", () => "http://169.254.169.254/latest/", /refused by the egress guard: .*metadata address/],
  ])("refuses a stored endpoint on %s at delivery: failed at once, no connection", async (_what, url, reason) => {
    const before = connections;
    const id = await storedEndpoint(url());
    expect(await attemptDelivery(db, id, { attempt: 1, maxAttempts: 5 })).toEqual({ outcome: "gave-up" });
    const d = await db.webhookDelivery.findUniqueOrThrow({ where: { id } });
    expect(d).toMatchObject({ status: "failed", attempts: 1, lastStatusCode: null });
    expect(d.lastError).toMatch(reason);
    expect(connections).toBe(before);
  });

  it("checks a name on the address it resolves to at delivery; delivers once that destination is allowed", async () => {
    const before = connections;
    const lookup = async () => [{ address: "127.0.0.1", family: 4 }];
    const url = `http://hooks.attacker.test:${port}/hook`;
    const id = await storedEndpoint(url);
    const guarded = createEgressFetch({ label: "webhook", plainHttp: true, maxRedirects: 0, lookup });
    try {
      expect(await attemptDelivery(db, id, { attempt: 1, maxAttempts: 5, egress: guarded })).toEqual({ outcome: "gave-up" });
      expect((await db.webhookDelivery.findUniqueOrThrow({ where: { id } })).lastError).toMatch(/loopback address \(127\.0\.0\.1\)/);
      expect(connections).toBe(before);
    } finally {
      await guarded.close();
    }
    const id2 = await storedEndpoint(url);
    const allowed = createEgressFetch({ label: "webhook", plainHttp: true, maxRedirects: 0, lookup, rules: { allowInternal: [`127.0.0.1:${port}`] } });
    try {
      expect(await attemptDelivery(db, id2, { attempt: 1, maxAttempts: 5, egress: allowed })).toEqual({ outcome: "delivered" });
      expect(connections).toBe(before + 1);
    } finally {
      await allowed.close();
    }
  });
});
