import { z } from "zod";
import { adminUrlFetch } from "@/lib/egress/env";
import type { EgressFetch } from "@/lib/egress/fetch";
import { getEnv } from "@/lib/env";
import { defineJob } from "@/lib/jobs/registry";
import { refreshAllTufRepositories, refreshTufRepository } from "@/lib/trust/tuf-refresh";

/**
 * Hourly TUF refresh of every trusted root kept through TUF (the public-good one unless
 * SIGNET_TUF_PUBLIC_GOOD=false, and the private repositories added by administrators); sent for one
 * repository right after it is added. Every request goes through the egress guard; a mirror URL is
 * administrator input, so an internal one must be listed in SIGNET_EGRESS_ALLOW_INTERNAL.
 */
export const tufRefresh = defineJob({
  name: "tuf.refresh",
  schema: z.object({ repository: z.string().min(1).max(63).optional() }).loose(),
  cron: "41 * * * *",
  key: (p) => p.repository ?? "*",
  queue: { policy: "short", retryLimit: 0, expireInSeconds: 900 },
  handler: async (p, ctx) => {
    const env = getEnv();
    const fetches: EgressFetch[] = [];
    const fetchFor = (mirrorUrl: string) => {
      const f = adminUrlFetch(env, { label: "TUF mirror", url: mirrorUrl });
      fetches.push(f);
      return f;
    };
    try {
      if (p.repository) return [await refreshTufRepository(ctx.db, p.repository, fetchFor)];
      return await refreshAllTufRepositories(ctx.db, { publicGood: env.SIGNET_TUF_PUBLIC_GOOD, fetchFor });
    } finally {
      await Promise.all(fetches.map((f) => f.close()));
    }
  },
});
