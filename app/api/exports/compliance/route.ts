import { route } from "@/lib/api/route";
import { buildComplianceReport } from "@/lib/data/exports";
import { getDb } from "@/lib/db/client";
import { complianceQuery } from "@/lib/dto/dashboard";
import { signedCsv, signedJson } from "@/lib/exports/download";

export const dynamic = "force-dynamic";

const HEADER = [
  "cluster", "namespace", "workload", "container", "image", "digest", "policy", "policy_version", "mode", "verdict",
  "evaluated_at", "signers", "rekor_log_indexes", "reasons", "events_in_range",
] as const;

/** Compliance report for a time range and scope: evidence per running digest and policy, as CSV or JSON (auditors); signed with the export key. */
export const GET = route({ access: "auditor", query: complianceQuery }, async ({ query }) => {
  const report = await buildComplianceReport(getDb(), query);
  const name = `signet-compliance-${report.to.slice(0, 10)}`;
  if (query.format === "json") return signedJson(getDb(), `${name}.json`, report);
  return signedCsv(
    getDb(),
    `${name}.csv`,
    HEADER,
    report.rows.map((r) => [
      r.cluster, r.namespace, r.workload, r.container, r.image, r.digest, r.policy, r.policyVersion, r.mode, r.verdict,
      r.evaluatedAt, r.signers, r.rekorLogIndexes, r.reasons.join("; "), r.eventsInRange,
    ]),
  );
});
