import { z } from "zod";
import { defineJob } from "@/lib/jobs/registry";
import { runNotifier } from "@/lib/notify/detect";
import { attemptDelivery } from "@/lib/notify/webhooks";

/**
 * Notifications: `notify.tick` (every minute) detects what is worth telling and queues one delivery
 * per endpoint, then sends a `notify.deliver` job per pending delivery; each delivery job makes one
 * attempt and throws on failure, so pg-boss retries it (with backoff) until the limit, and the last
 * attempt marks the delivery failed. Every attempt is logged on the delivery row.
 */
export function makeNotifyDeliver(opts: { retryLimit?: number; retryDelay?: number; retryBackoff?: boolean } = {}) {
  const retryLimit = opts.retryLimit ?? 5;
  return defineJob({
    name: "notify.deliver",
    schema: z.object({ deliveryId: z.uuid() }),
    key: (p) => p.deliveryId,
    queue: {
      policy: "short",
      retryLimit,
      retryDelay: opts.retryDelay ?? 10,
      ...((opts.retryBackoff ?? true) ? { retryBackoff: true, retryDelayMax: 3600 } : { retryBackoff: false }),
      expireInSeconds: 120,
    },
    concurrency: 4,
    handler: async (p, ctx) => {
      const r = await attemptDelivery(ctx.db, p.deliveryId, { attempt: ctx.retryCount + 1, maxAttempts: retryLimit + 1 });
      if (r.outcome === "retry") throw new Error(`webhook delivery failed (${r.error}); will retry`);
      return r;
    },
  });
}

export const notifyDeliver = makeNotifyDeliver();

export const notifyTick = defineJob({
  name: "notify.tick",
  schema: z.object({}).loose(),
  cron: "* * * * *",
  queue: { policy: "short", retryLimit: 0, expireInSeconds: 300 },
  // also sent right after an image check changed verdicts (lib/jobs/definitions/scan.ts): one at a time
  concurrency: 1,
  handler: async (_p, ctx) => {
    const fresh = await runNotifier(ctx.db, new Date());
    // deliveries queued elsewhere (e.g. a revocation in the web process) and never attempted
    const pending = await ctx.db.webhookDelivery.findMany({ where: { status: "pending", attempts: 0 }, select: { id: true }, take: 1000 });
    const ids = [...new Set([...fresh, ...pending.map((d) => d.id)])];
    for (const id of ids) await ctx.enqueue(notifyDeliver, { deliveryId: id });
    return { queued: ids.length };
  },
});
