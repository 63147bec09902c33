import { z } from "zod";
import { route } from "@/lib/api/route";
import { auditExportParts, iterateAuditEvents } from "@/lib/data/audit";
import { getDb } from "@/lib/db/client";
import { auditQuery } from "@/lib/dto/read";
import { signedCsv, signedExport, writeJsonWithArray } from "@/lib/exports/download";

export const dynamic = "force-dynamic";

const HEADER = ["seq", "occurred_at", "kind", "actor", "cluster", "namespace", "workload", "image_digest", "policy", "policy_version", "verdict", "previous_verdict", "reasons", "summary", "hash"] as const;

/**
 * The audit events under the current filters as CSV (newest first) or JSON (chain order, with its
 * checkpoint) (auditors); read page by page, written as they are read, signed with the export key.
 */
export const GET = route({ access: "auditor", query: auditQuery.extend({ format: z.enum(["csv", "json"]).default("csv") }) }, async ({ query }) => {
  const db = getDb();
  const stamp = new Date().toISOString().slice(0, 10);
  // JSON carries the chain links and the newest signed checkpoint: `signet audit verify --file` checks it offline
  if (query.format === "json") {
    return signedExport(db, { filename: `signet-audit-${stamp}.json`, contentType: "application/json; charset=utf-8" }, async (sink) => {
      const { head, events, complete } = await auditExportParts(db, query);
      await writeJsonWithArray(sink, head, "events", events, () => ({ complete: complete() }));
    });
  }
  return signedCsv(db, `signet-audit-${stamp}.csv`, HEADER, async function* () {
    for await (const e of iterateAuditEvents(db, query)) {
      const reasons = Array.isArray(e.reasons) ? (e.reasons as { message?: string }[]).map((r) => r?.message ?? "").filter(Boolean).join("; ") : "";
      yield [e.seq, e.occurredAt, e.kind, e.actor, e.clusterName, e.namespace, e.workload, e.imageDigest, e.policyName, e.policyVersion, e.verdict, e.previousVerdict, reasons, e.summary, e.hash];
    }
  });
});
