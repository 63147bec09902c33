import { z } from "zod";
import { route } from "@/lib/api/route";
import { getAuditChainStatus } from "@/lib/data/audit";
import { getDb } from "@/lib/db/client";

export const dynamic = "force-dynamic";

/** Whether the audit log's hash chain is intact (cached while the chain does not grow; `?force=1` walks again). */
export const GET = route(
  { access: "auditor", query: z.object({ force: z.enum(["0", "1"]).optional() }) },
  async ({ query }) => getAuditChainStatus(getDb(), { force: query.force === "1" }),
);
