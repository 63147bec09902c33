import { randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appendAuditEvents } from "@/lib/audit/store";
import { resetKeyring } from "@/lib/crypto/keys";
import { createDb, getDb, type Db } from "@/lib/db/client";
import { resetEnvCache } from "@/lib/env";
import { createBoss, sendJob } from "@/lib/jobs/boss";
import { makeNotifyDeliver } from "@/lib/jobs/definitions/notify";
import type { JobDefinition } from "@/lib/jobs/registry";
import { startWorker, type RunningWorker } from "@/lib/jobs/worker";
import { getLogger } from "@/lib/log";
import { detectNotifications, runNotifier } from "@/lib/notify/detect";
import { createWebhook, listDeliveries, listWebhooks, queueNotification } from "@/lib/notify/webhooks";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { waitFor } from "@/tests/support/process";

interface Received {
  path: string;
  body: Record<string, unknown>;
  headers: http.IncomingHttpHeaders;
}

/**
 * Webhook delivery through real pg-boss jobs to a local receiver: a flaky endpoint (500, 500, then
 * 200) is delivered on the third attempt, an endpoint that always answers 500 is given up after the
 * retry limit, and every attempt is in the delivery log. Notifications are detected from the
 * database (new enforce-mode failures, coverage below target, reminders) once each.
 */
describe("webhook notifications", () => {
  let tdb: TestDatabase;
  let db: Db;
  let server: http.Server;
  let base: string;
  let worker: RunningWorker;
  const received: Received[] = [];
  const held: (() => void)[] = [];
  const TOKEN = `T0KEN${randomBytes(8).toString("hex")}`;
  const deliver = makeNotifyDeliver({ retryLimit: 2, retryDelay: 1, retryBackoff: false });

  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = createDb(tdb.url, 4);
    process.env.DATABASE_URL = tdb.url;
    process.env.SIGNET_SECRET_KEY = randomBytes(32).toString("base64");
    resetEnvCache();
    resetKeyring();
    let flaky = 0;
    server = http.createServer((req, res) => {
      let data = "";
      req.on("data", (c) => (data += c));
      req.on("end", () => {
        received.push({ path: req.url ?? "", body: JSON.parse(data || "{}"), headers: req.headers });
        if (req.url?.startsWith("/slow")) {
          // answered when the test says so: a delivery in flight
          held.push(() => {
            res.statusCode = 204;
            res.end();
          });
          return;
        }
        if (req.url?.startsWith("/flaky")) res.statusCode = ++flaky <= 2 ? 500 : 200;
        else if (req.url?.startsWith("/down")) res.statusCode = 500;
        else res.statusCode = 204;
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // The receiver is on loopback, which the egress guard refuses unless explicitly allowed.
    process.env.SIGNET_EGRESS_ALLOW_INTERNAL = new URL(base).host;
    resetEnvCache();
    worker = await startWorker({ databaseUrl: tdb.url, jobs: [deliver] as unknown as JobDefinition[], log: getLogger(), heartbeatSeconds: 5, concurrency: 2 });
  });

  afterAll(async () => {
    await worker?.stop();
    await new Promise((r) => server?.close(r));
    await db?.$disconnect();
    await getDb().$disconnect().catch(() => undefined);
    await tdb?.drop();
  });

  it("stores endpoint URLs encrypted and never returns them", async () => {
    await createWebhook(db, { name: "flaky", url: `${base}/flaky/${TOKEN}`, format: "generic", events: ["failure.enforce"] }, "admin@test");
    await createWebhook(db, { name: "down", url: `${base}/down/${TOKEN}`, format: "slack" }, "admin@test");
    const rows = await db.webhookEndpoint.findMany();
    for (const r of rows) expect(r.urlEnc).not.toContain(TOKEN);
    const list = await listWebhooks(db);
    expect(JSON.stringify(list)).not.toContain(TOKEN);
    expect(list.map((w) => w.urlHint)).toEqual([`${base}/…`, `${base}/…`]);
    await expect(createWebhook(db, { name: "bad", url: "file:///etc/passwd" }, "admin@test")).rejects.toThrow();
  });

  it("detects failures in enforce mode, coverage below target and reminders, once each", async () => {
    const now = new Date("2026-11-25T10:00:00Z");
    await appendAuditEvents(db, [
      { kind: "verdict", clusterName: "prod", namespace: "payments", workload: "Deployment/api", policyName: "release", verdict: "failed", previousVerdict: "verified", reasons: [{ code: "revoked" }], details: { mode: "enforce" } },
      { kind: "verdict", clusterName: "prod", namespace: "tools", workload: "Deployment/x", policyName: "audit", verdict: "failed", previousVerdict: "verified", details: { mode: "audit" } },
    ]);
    await db.coverageSnapshot.create({ data: { scope: "fleet", takenAt: now, containersTotal: 10, containersVerified: 5, containersFailed: 5, containersUnsigned: 0, containersError: 0, containersUnmatched: 0, imagesTotal: 4, imagesVerified: 2 } });
    await db.authority.create({ data: { name: "ci", kind: "key", rotateBy: new Date("2026-11-30T00:00:00Z") } });

    const ids = await runNotifier(db, now);
    const rows = await db.webhookDelivery.findMany({ where: { id: { in: ids } }, include: { endpoint: true } });
    const got = rows.map((r) => `${r.endpoint.name}:${r.event}`).sort();
    // flaky subscribes to failures only; down to everything. The audit-mode failure is not news.
    expect(got).toEqual(["down:coverage.below-target", "down:failure.enforce", "down:reminder", "flaky:failure.enforce"]);
    const failure = rows.find((r) => r.event === "failure.enforce")!.payload as { summary: string; lines: string[] };
    expect(failure.summary).toBe("1 new failure in enforce-mode policies");
    expect(failure.lines).toEqual(["prod/payments Deployment/api — release (revoked)"]);
    // nothing new: nothing queued again
    expect(await runNotifier(db, new Date(now.getTime() + 60_000))).toEqual([]);
  });

  it("retries on 500 until delivered, gives up after the limit, and logs every attempt", async () => {
    const pending = await db.webhookDelivery.findMany({ where: { status: "pending" } });
    const boss = createBoss(tdb.url, { max: 2 });
    await boss.start();
    try {
      for (const d of pending) await sendJob(boss, deliver, { deliveryId: d.id });
    } finally {
      await boss.stop({ graceful: false });
    }
    const settled = await waitFor(
      async () => {
        const rows = await db.webhookDelivery.findMany({ include: { endpoint: true } });
        return rows.every((r) => r.status !== "pending") ? rows : undefined;
      },
      60_000,
      "deliveries to settle",
    );
    const flaky = settled.find((r) => r.endpoint.name === "flaky")!;
    expect(flaky).toMatchObject({ status: "delivered", attempts: 3, lastStatusCode: 200, lastError: null });
    expect((flaky.log as { status: number }[]).map((l) => l.status)).toEqual([500, 500, 200]);
    for (const d of settled.filter((r) => r.endpoint.name === "down")) {
      expect(d).toMatchObject({ status: "failed", attempts: 3, lastStatusCode: 500, lastError: "HTTP 500", deliveredAt: null });
      expect((d.log as { status: number; error: string }[]).map((l) => `${l.status} ${l.error}`)).toEqual(["500 HTTP 500", "500 HTTP 500", "500 HTTP 500"]);
    }
    expect(received.filter((r) => r.path.startsWith("/flaky"))).toHaveLength(3);
    expect(received.filter((r) => r.path.startsWith("/down"))).toHaveLength(9);
    // formats: generic JSON and Slack-compatible text
    expect(received.find((r) => r.path.startsWith("/flaky"))!.body).toMatchObject({ source: "signet", event: "failure.enforce" });
    const slack = received.find((r) => r.path.startsWith("/down") && r.headers["x-signet-event"] === "coverage.below-target")!.body as { text: string };
    expect(slack.text).toContain("fleet coverage 50.0% is below the target of 95%");
    const log = await listDeliveries(db, flaky.endpointId);
    expect(log[0]).toMatchObject({ status: "delivered", attempts: 3 });
    // a delivered or failed delivery is not sent again
    const again = await import("@/lib/notify/webhooks").then((m) => m.attemptDelivery(db, flaky.id, { attempt: 1, maxAttempts: 3 }));
    expect(again).toEqual({ outcome: "skipped" });
  });
  it("an unsigned verdict is a failure too; warn and audit failures are told as failure.audit when configured", async () => {
    await appendAuditEvents(db, [
      { kind: "verdict", clusterName: "prod", namespace: "payments", workload: "Pod/new", policyName: "release", verdict: "unsigned", previousVerdict: null, reasons: [{ code: "unsigned" }], details: { mode: "enforce" } },
      { kind: "verdict", clusterName: "prod", namespace: "payments", workload: "Pod/old", policyName: "release", verdict: "failed", previousVerdict: "unsigned", reasons: [{ code: "untrusted-signer" }], details: { mode: "enforce" } },
      { kind: "verdict", clusterName: "prod", namespace: "tools", workload: "Deployment/y", policyName: "audit", verdict: "unsigned", previousVerdict: "verified", details: { mode: "warn" } },
    ]);
    const now = new Date("2026-11-25T11:00:00Z");
    const enforceOnly = (await detectNotifications(db, now)).notifications.filter((n) => n.event.startsWith("failure."));
    // the failed verdict of a container that was unsigned already is no news
    expect(enforceOnly.map((n) => [n.event, n.lines])).toEqual([["failure.enforce", ["prod/payments Pod/new — release (unsigned)"]]]);
    process.env.SIGNET_NOTIFY_FAILURE_MODES = "enforce,warn";
    resetEnvCache();
    try {
      const both = (await detectNotifications(db, now)).notifications.filter((n) => n.event.startsWith("failure."));
      expect(both.map((n) => [n.event, n.summary, n.lines])).toEqual([
        ["failure.enforce", "1 new failure in enforce-mode policies", ["prod/payments Pod/new — release (unsigned)"]],
        ["failure.audit", "1 new failure in warn- and audit-mode policies", ["prod/tools Deployment/y — audit (unsigned)"]],
      ]);
    } finally {
      delete process.env.SIGNET_NOTIFY_FAILURE_MODES;
      resetEnvCache();
    }
  });
  it("a failure appended while the notifier reads is told by the next run, never skipped", async () => {
    await runNotifier(db, new Date("2026-11-25T12:00:00Z")); // start from a settled cursor
    // the first read of the events table is followed at once by another appender's failure: whichever
    // the notifier reads first (the head or the failures), the new event lands between its two reads
    let injected = false;
    const events = db.verificationEvent;
    const interleave =
      <A extends unknown[], R>(read: (...a: A) => Promise<R>) =>
      async (...a: A): Promise<R> => {
        const r = await read(...a);
        if (!injected) {
          injected = true;
          await appendAuditEvents(db, [
            { kind: "verdict", clusterName: "prod", namespace: "payments", workload: "Pod/between", policyName: "release", verdict: "unsigned", previousVerdict: null, reasons: [{ code: "unsigned" }], details: { mode: "enforce" } },
          ]);
        }
        return r;
      };
    const racing = new Proxy(db, {
      get: (target, prop, receiver) =>
        prop === "verificationEvent"
          ? { ...events, findFirst: interleave(events.findFirst.bind(events)), findMany: interleave(events.findMany.bind(events)) }
          : Reflect.get(target, prop, receiver),
    }) as Db;
    const first = await detectNotifications(racing, new Date("2026-11-25T12:01:00Z"));
    expect(injected).toBe(true);
    expect(first.notifications.filter((n) => n.event.startsWith("failure."))).toEqual([]);
    const between = await db.verificationEvent.findFirstOrThrow({ where: { workload: "Pod/between" } });
    expect(first.cursor < between.seq, "the cursor stays below the event appended during the read").toBe(true);
    await db.trustSettings.update({ where: { id: "default" }, data: { notifyCursor: first.cursor } });
    const next = (await detectNotifications(db, new Date("2026-11-25T12:02:00Z"))).notifications.filter((n) => n.event === "failure.enforce");
    expect(next.map((n) => n.lines)).toEqual([["prod/payments Pod/between — release (unsigned)"]]);
  });

  it("a delivery in flight is not sent again by a second first attempt (a tick re-queues what it still sees pending)", async () => {
    const { attemptDelivery } = await import("@/lib/notify/webhooks");
    await createWebhook(db, { name: "slow", url: `${base}/slow`, format: "generic", events: ["reminder"] }, "admin@test");
    const ids = await queueNotification(db, { event: "reminder", dedupeKey: "slow:1", occurredAt: new Date().toISOString(), summary: "in flight" });
    const id = (await db.webhookDelivery.findFirstOrThrow({ where: { id: { in: ids }, endpoint: { name: "slow" } } })).id;
    const first = attemptDelivery(db, id, { attempt: 1, maxAttempts: 3 });
    await waitFor(async () => (held.length === 1 ? true : undefined), 15_000, "the first attempt at the receiver");
    // the first attempt claimed the delivery and is waiting for its answer: still pending, attempted once
    expect(await db.webhookDelivery.findUniqueOrThrow({ where: { id: id } })).toMatchObject({ status: "pending", attempts: 1 });
    expect(await attemptDelivery(db, id, { attempt: 1, maxAttempts: 3 })).toEqual({ outcome: "skipped" });
    held.shift()!();
    expect(await first).toEqual({ outcome: "delivered" });
    expect(received.filter((r) => r.path.startsWith("/slow"))).toHaveLength(1);
  });
});
