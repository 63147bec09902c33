import { z } from "zod";
import { defineJob } from "@/lib/jobs/registry";

/**
 * Round-trip check of the job system: `signet jobs ping` and the integration tests send one and wait
 * for pg-boss to report it completed. The handler reads the database clock, proving the worker's
 * database connection, and returns it as the job's output.
 */
export const diagnosticsPing = defineJob({
  name: "diagnostics.ping",
  schema: z.object({ nonce: z.string().min(1).max(200) }),
  queue: { retryLimit: 0, expireInSeconds: 60, deleteAfterSeconds: 3600 },
  key: (p) => p.nonce,
  handler: async (payload, ctx) => {
    const rows = await ctx.db.$queryRaw<{ now: Date }[]>`SELECT now() AS now`;
    return { nonce: payload.nonce, handledAt: rows[0]?.now.toISOString() ?? null, worker: process.pid };
  },
});
