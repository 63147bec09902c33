import { z } from "zod";
import { defineJob } from "@/lib/jobs/registry";
import { takeUsageSnapshots } from "@/lib/trust/inventory";

/** Hourly usage snapshot of every authority (the inventory's "over time" and the re-sign trend). */
export const trustSnapshot = defineJob({
  name: "trust.snapshot",
  schema: z.object({}).loose(),
  cron: "17 * * * *",
  queue: { policy: "short", retryLimit: 2, retryDelay: 60, expireInSeconds: 900 },
  handler: async (_p, ctx) => ({ authorities: await takeUsageSnapshots(ctx.db, new Date()) }),
});
