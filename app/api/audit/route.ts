import { route } from "@/lib/api/route";
import { listAuditEvents } from "@/lib/data/audit";
import { getDb } from "@/lib/db/client";
import { auditPageDto, auditQuery } from "@/lib/dto/read";

export const dynamic = "force-dynamic";

/** Verification and administrative events, newest first (auditors). */
export const GET = route({ access: "auditor", query: auditQuery, responses: { 200: auditPageDto } }, async ({ query }) => listAuditEvents(getDb(), query));
