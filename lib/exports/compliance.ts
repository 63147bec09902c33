import "server-only";
import { complianceHeader, compliancePeriod, iterateComplianceRows } from "@/lib/data/exports";
import type { Db } from "@/lib/db/client";
import { withSnapshot } from "@/lib/db/cursor";
import type { ComplianceQuery } from "@/lib/dto/dashboard";
import { signedExport, writeCsv, writeJsonWithArray } from "@/lib/exports/download";

export const COMPLIANCE_CSV_HEADER = [
  "cluster", "namespace", "workload", "container", "image", "digest", "policy", "policy_version", "mode", "verdict",
  "evaluated_at", "signers", "rekor_log_indexes", "reasons", "events_in_range",
] as const;

/**
 * The compliance export (GET /api/exports/compliance, bench:exports): CSV or JSON read from one
 * snapshot through cursor pages, written as it is read into a signed spool, served with its signature.
 */
export function complianceExport(db: Db, query: ComplianceQuery, now = new Date()): Promise<Response> {
  const period = compliancePeriod(query, now);
  const name = `signet-compliance-${period.to.toISOString().slice(0, 10)}`;
  const json = query.format === "json";
  return signedExport(db, { filename: `${name}.${json ? "json" : "csv"}`, contentType: json ? "application/json; charset=utf-8" : "text/csv; charset=utf-8" }, (sink) =>
    withSnapshot(db, async (tx) => {
      // a transaction that runs again starts the file over
      await sink.reset();
      const rows = iterateComplianceRows(tx, query, period);
      if (json) return writeJsonWithArray(sink, await complianceHeader(tx, query, now), "rows", rows);
      return writeCsv(
        sink,
        COMPLIANCE_CSV_HEADER,
        (async function* () {
          for await (const r of rows) {
            yield [
              r.cluster, r.namespace, r.workload, r.container, r.image, r.digest, r.policy, r.policyVersion, r.mode, r.verdict,
              r.evaluatedAt, r.signers, r.rekorLogIndexes, r.reasons.join("; "), r.eventsInRange,
            ];
          }
        })(),
      );
    }),
  );
}
