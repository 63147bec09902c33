import { z } from "zod";
import { getEnv } from "@/lib/env";
import { defineJob } from "@/lib/jobs/registry";
import { sweepRetention } from "@/lib/retention/sweep";

/**
 * Hourly: removes the items of scans finished SIGNET_SCAN_ITEMS_KEEP_DAYS ago and the pods gone from
 * their clusters SIGNET_GONE_PODS_KEEP_DAYS ago, with their containers and verdicts (lib/retention,
 * docs/decisions/0028). Once across all workers; a sweep that could not finish its backlog leaves the
 * rest to the next hour.
 */
export const retentionSweep = defineJob({
  name: "retention.sweep",
  schema: z.object({}).loose(),
  cron: "23 * * * *",
  key: () => "*",
  queue: { policy: "short", retryLimit: 0, expireInSeconds: 3600 },
  handler: async (_p, ctx) => {
    const env = getEnv();
    const r = await sweepRetention(ctx.db, { now: new Date(), scanItemsKeepDays: env.SIGNET_SCAN_ITEMS_KEEP_DAYS, gonePodsKeepDays: env.SIGNET_GONE_PODS_KEEP_DAYS });
    if (r.scanItems || r.pods) ctx.log.info(r, "retention: removed the items of finished scans and the pods gone past their keep time");
    return r;
  },
});
