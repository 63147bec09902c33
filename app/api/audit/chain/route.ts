import { route } from "@/lib/api/route";
import { getAuditChainStatus } from "@/lib/data/audit";
import { getDatabaseUrl, getDb } from "@/lib/db/client";
import { chainStatusDto } from "@/lib/dto/dashboard";

export const dynamic = "force-dynamic";

/** Whether the audit chain is intact and anchored by its signed checkpoints, walked for every request (auditors). */
export const GET = route({ access: "auditor", responses: { 200: chainStatusDto } }, async () => getAuditChainStatus(getDb(), getDatabaseUrl()));
