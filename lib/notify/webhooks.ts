import "server-only";
import { z } from "zod";
import { ApiError } from "@/lib/api/errors";
import { appendAuditEvents } from "@/lib/audit/store";
import { getKeyring, type Keyring } from "@/lib/crypto/keys";
import { decryptSecret, encryptSecret } from "@/lib/crypto/secrets";
import type { Db } from "@/lib/db/client";
import { EgressRefusedError } from "@/lib/egress/connect";
import { adminUrlRefusal, egressRules } from "@/lib/egress/env";
import { createEgressFetch, type EgressFetch } from "@/lib/egress/fetch";
import { getEnv, type Env } from "@/lib/env";
import { TX_ADMIN_TIMEOUT_MS, withTransaction } from "@/lib/db/transaction";
import type { Prisma } from "@/lib/generated/prisma/client";
import { NOTIFICATION_EVENTS, renderPayload, urlHint, type Notification } from "@/lib/notify/format";

/**
 * Outgoing webhooks: endpoints (URL encrypted at rest, shown only as scheme://host/…), one delivery
 * row per notification × endpoint, and single delivery attempts with a log. Retries are the job's.
 */

export const newWebhookSchema = z
  .object({
    name: z.string().trim().min(1).max(100),
    url: z
      .string()
      .max(2000)
      .url()
      .refine((u) => /^https?:$/.test(new URL(u).protocol), "http or https only")
      .refine((u) => !new URL(u).username && !new URL(u).password, "no user name or password in the URL"),
    format: z.enum(["generic", "slack"]).default("generic"),
    events: z.array(z.enum(NOTIFICATION_EVENTS)).max(NOTIFICATION_EVENTS.length).default([]),
  })
  .strict();
export type NewWebhook = z.input<typeof newWebhookSchema>;

export interface WebhookDto {
  id: string;
  name: string;
  format: "generic" | "slack";
  urlHint: string;
  events: string[];
  enabled: boolean;
  createdAt: string;
  deliveries: { delivered: number; failed: number; pending: number };
}

const keyring = (): Keyring => getKeyring(getEnv());

/*
 * Webhook URLs are admin input but must not reach internal services: loopback, link-local, cloud
 * metadata, unspecified and reserved addresses are refused unless listed in
 * SIGNET_EGRESS_ALLOW_INTERNAL (private ones too with SIGNET_EGRESS_REFUSE_PRIVATE). At save the URL's
 * IP literal (or a *.localhost name) is checked; names are checked on the addresses they resolve to
 * at every delivery, where the connection goes to the checked address. Redirects are not followed.
 */
const WEBHOOK_LABEL = "webhook";
const WEBHOOK_HINT = "list it in SIGNET_EGRESS_ALLOW_INTERNAL to allow it";

/** Why a webhook URL may not be saved, or undefined. Names other than *.localhost are checked at delivery. */
export function webhookUrlRefusal(env: Env, url: string): string | undefined {
  return adminUrlRefusal(env, url, WEBHOOK_LABEL);
}

let deliveryClient: { env: Env; fetch: EgressFetch } | undefined;

/** The guarded client deliveries use, rebuilt when the environment is re-read. */
function webhookFetch(env: Env): EgressFetch {
  if (deliveryClient?.env !== env) {
    void deliveryClient?.fetch.close();
    deliveryClient = { env, fetch: createEgressFetch({ label: WEBHOOK_LABEL, hint: WEBHOOK_HINT, rules: egressRules(env), plainHttp: true, maxRedirects: 0 }) };
  }
  return deliveryClient.fetch;
}
const context = (name: string) => `webhook-endpoint:${name}`;

export async function listWebhooks(db: Db): Promise<WebhookDto[]> {
  const rows = await db.webhookEndpoint.findMany({ orderBy: { name: "asc" } });
  const counts = await db.webhookDelivery.groupBy({ by: ["endpointId", "status"], _count: true });
  return rows.map((r) => {
    const c = (s: string) => counts.find((x) => x.endpointId === r.id && x.status === s)?._count ?? 0;
    return {
      id: r.id,
      name: r.name,
      format: r.format,
      urlHint: r.urlHint,
      events: r.events,
      enabled: r.enabled,
      createdAt: r.createdAt.toISOString(),
      deliveries: { delivered: c("delivered"), failed: c("failed"), pending: c("pending") },
    };
  });
}

export async function createWebhook(db: Db, input: NewWebhook, actor: string): Promise<WebhookDto> {
  const data = newWebhookSchema.parse(input);
  const refusal = webhookUrlRefusal(getEnv(), data.url);
  if (refusal) throw new ApiError("validation_failed", `The webhook URL is refused: ${refusal}.`, { field: "url" });
  await withTransaction(db, async (tx) => {
    if (await tx.webhookEndpoint.findUnique({ where: { name: data.name } })) throw new ApiError("conflict", `A webhook named ${data.name} exists.`, { field: "name" });
    await tx.webhookEndpoint.create({
      data: { name: data.name, format: data.format, events: data.events, urlEnc: encryptSecret(keyring(), data.url, context(data.name)), urlHint: urlHint(data.url) },
    });
    await appendAuditEvents(tx, [{ kind: "admin", actor, details: { action: "webhook.create", name: data.name, format: data.format, host: urlHint(data.url), events: data.events } }]);
  }, { timeout: TX_ADMIN_TIMEOUT_MS });
  return (await listWebhooks(db)).find((w) => w.name === data.name)!;
}

export async function deleteWebhook(db: Db, id: string, actor: string): Promise<void> {
  await withTransaction(db, async (tx) => {
    const row = await tx.webhookEndpoint.findUnique({ where: { id } });
    if (!row) throw new ApiError("not_found", "No such webhook.");
    await tx.webhookEndpoint.delete({ where: { id } });
    await appendAuditEvents(tx, [{ kind: "admin", actor, details: { action: "webhook.delete", name: row.name } }]);
  }, { timeout: TX_ADMIN_TIMEOUT_MS });
}

export async function listDeliveries(db: Db, endpointId: string, limit = 50) {
  const rows = await db.webhookDelivery.findMany({ where: { endpointId }, orderBy: { createdAt: "desc" }, take: limit });
  return rows.map((d) => ({
    id: d.id,
    event: d.event,
    status: d.status,
    attempts: d.attempts,
    lastStatusCode: d.lastStatusCode,
    lastError: d.lastError,
    log: d.log,
    createdAt: d.createdAt.toISOString(),
    deliveredAt: d.deliveredAt?.toISOString() ?? null,
  }));
}

/** One delivery row per enabled endpoint that wants the event; duplicates (same dedupe key) are skipped. Returns new delivery ids. */
export async function queueNotification(db: Db, n: Notification): Promise<string[]> {
  const endpoints = await db.webhookEndpoint.findMany({ where: { enabled: true } });
  const wanted = endpoints.filter((e) => e.events.length === 0 || e.events.includes(n.event));
  if (wanted.length === 0) return [];
  const rows = await db.webhookDelivery.createManyAndReturn({
    data: wanted.map((e) => ({ endpointId: e.id, event: n.event, dedupeKey: n.dedupeKey, payload: n as unknown as Prisma.InputJsonValue })),
    skipDuplicates: true,
    select: { id: true },
  });
  return rows.map((r) => r.id);
}

export interface AttemptOptions {
  /** 1-based number of this attempt. */
  attempt: number;
  maxAttempts: number;
  timeoutMs?: number;
  now?: () => Date;
  /** The guarded HTTP client (test seam, e.g. with an injected resolver); default: built from the environment. */
  egress?: EgressFetch;
}

export type AttemptResult = { outcome: "delivered" | "skipped" | "gave-up" } | { outcome: "retry"; error: string };

/**
 * One attempt to deliver: POST the rendered payload (no redirects followed, time-limited), log the
 * attempt; 2xx delivers, anything else retries until `maxAttempts`, then the delivery is failed.
 */
export async function attemptDelivery(db: Db, deliveryId: string, opts: AttemptOptions): Promise<AttemptResult> {
  const now = opts.now ?? (() => new Date());
  const d = await db.webhookDelivery.findUnique({ where: { id: deliveryId }, include: { endpoint: true } });
  if (!d || d.status !== "pending") return { outcome: "skipped" };
  // Claim the attempt before sending: two delivery jobs for one delivery (a tick re-queues pending
  // deliveries never attempted, while the first job is still sending) must not both POST it. The
  // attempt counter is the claim: only one of them moves it from what both read, and a job's attempt
  // N claims only a delivery attempted N - 1 times — a second first attempt that reads the counter
  // after the first one's claim (1, the delivery still pending while it is sent) would otherwise
  // claim attempt 2 and send it again.
  if (d.attempts !== opts.attempt - 1) return { outcome: "skipped" };
  const claimed = await db.webhookDelivery.updateMany({ where: { id: d.id, status: "pending", attempts: d.attempts }, data: { attempts: d.attempts + 1, updatedAt: now() } });
  if (claimed.count !== 1) return { outcome: "skipped" };
  let status: number | null = null;
  let error: string | null = null;
  let refused = false;
  const started = now();
  try {
    const url = decryptSecret(keyring(), d.endpoint.urlEnc, context(d.endpoint.name));
    const send = opts.egress ?? webhookFetch(getEnv());
    const res = await send(url, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": "signet-webhook/1", "x-signet-event": d.event, "x-signet-delivery": d.id },
      body: JSON.stringify(renderPayload(d.endpoint.format, d.payload as unknown as Notification)),
      redirect: "manual",
      signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
    });
    status = res.status;
    await res.body?.cancel().catch(() => undefined);
    if (status < 200 || status >= 300) error = `HTTP ${status}`;
  } catch (err) {
    // A refused destination stays refused: the delivery fails now instead of retrying.
    refused = err instanceof EgressRefusedError;
    error = refused
      ? `refused by the egress guard: ${(err as Error).message}`.slice(0, 500)
      : (err as Error).name === "TimeoutError"
        ? "timed out"
        : ((err as Error).message || "request failed").slice(0, 500);
  }
  const attempts = d.attempts + 1;
  const entry = { attempt: attempts, at: started.toISOString(), status, error };
  const log = [...((d.log as unknown[]) ?? []), entry].slice(-50) as Prisma.InputJsonValue;
  if (!error) {
    await db.webhookDelivery.update({ where: { id: d.id }, data: { status: "delivered", attempts, lastStatusCode: status, lastError: null, log, deliveredAt: now(), updatedAt: now() } });
    return { outcome: "delivered" };
  }
  const final = refused || opts.attempt >= opts.maxAttempts;
  await db.webhookDelivery.update({
    where: { id: d.id },
    data: { status: final ? "failed" : "pending", attempts, lastStatusCode: status, lastError: error, log, updatedAt: now() },
  });
  return final ? { outcome: "gave-up" } : { outcome: "retry", error };
}
