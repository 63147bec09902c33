import { route } from "@/lib/api/route";
import { complianceHeader, compliancePeriod, iterateComplianceRows } from "@/lib/data/exports";
import { getDb } from "@/lib/db/client";
import { withSnapshot } from "@/lib/db/cursor";
import { complianceQuery } from "@/lib/dto/dashboard";
import { signedExport, writeCsv, writeJsonWithArray } from "@/lib/exports/download";

export const dynamic = "force-dynamic";

const HEADER = [
  "cluster", "namespace", "workload", "container", "image", "digest", "policy", "policy_version", "mode", "verdict",
  "evaluated_at", "signers", "rekor_log_indexes", "reasons", "events_in_range",
] as const;

/**
 * Compliance report for a time range and scope: evidence per running digest and policy, as CSV or JSON
 * (auditors); read from one snapshot page by page, written as it is read, signed with the export key.
 */
export const GET = route({ access: "auditor", query: complianceQuery }, async ({ query }) => {
  const db = getDb();
  const now = new Date();
  const period = compliancePeriod(query, now);
  const name = `signet-compliance-${period.to.toISOString().slice(0, 10)}`;
  const json = query.format === "json";
  return signedExport(db, { filename: `${name}.${json ? "json" : "csv"}`, contentType: json ? "application/json; charset=utf-8" : "text/csv; charset=utf-8" }, (sink) =>
    withSnapshot(db, async (tx) => {
      await sink.reset();
      const rows = iterateComplianceRows(tx, query, period);
      if (json) return writeJsonWithArray(sink, await complianceHeader(tx, query, now), "rows", rows);
      return writeCsv(
        sink,
        HEADER,
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
});
