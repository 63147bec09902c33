/**
 * Signet's verdicts as OpenReports (`openreports.io/v1alpha1` Report, the format Policy Reporter and
 * Headlamp read), pure: one Report per workload, source `signet`, one result per container × policy.
 *   verdict  verified → pass; failed / unsigned → fail (enforce policy) or warn (warn / audit);
 *            error → error; unmatched → skip
 *   severity from the policy mode: enforce high, warn medium, audit low
 *   properties: container, image, digest, signer(s), Rekor log index(es), timestamp source, policy version
 * A digest of the results is kept in an annotation, so a sync rewrites a Report only when it changed.
 */
import { createHash } from "node:crypto";
import type { ComplianceRow } from "@/lib/report/pipeline";

export const REPORT_API = { group: "openreports.io", version: "v1alpha1", plural: "reports", kind: "Report" } as const;
export const MANAGED_BY = { key: "app.kubernetes.io/managed-by", value: "signet" } as const;
export const DIGEST_ANNOTATION = "signet.dev/results-digest";

type Result = "pass" | "fail" | "warn" | "error" | "skip";

export interface OpenReport {
  apiVersion: string;
  kind: "Report";
  metadata: { name: string; namespace: string; labels: Record<string, string>; annotations: Record<string, string> };
  scope: { apiVersion: string; kind: string; name: string; namespace: string };
  source: "signet";
  summary: Record<Result, number>;
  results: Array<{
    source: "signet";
    policy: string;
    rule: string;
    category: string;
    result: Result;
    severity: "high" | "medium" | "low";
    message: string;
    scored: boolean;
    timestamp: { seconds: number; nanos: number };
    resources: Array<{ apiVersion: string; kind: string; name: string; namespace: string }>;
    properties: Record<string, string>;
  }>;
}

const API_VERSION_OF: Record<string, string> = {
  Deployment: "apps/v1",
  ReplicaSet: "apps/v1",
  StatefulSet: "apps/v1",
  DaemonSet: "apps/v1",
  Job: "batch/v1",
  CronJob: "batch/v1",
  Pod: "v1",
};

export function resultOf(verdict: string, mode: string): Result {
  if (verdict === "verified") return "pass";
  if (verdict === "failed" || verdict === "unsigned") return mode === "enforce" ? "fail" : "warn";
  if (verdict === "error") return "error";
  return "skip";
}

export function severityOf(mode: string): "high" | "medium" | "low" {
  return mode === "enforce" ? "high" : mode === "warn" ? "medium" : "low";
}

/** A Report name for a workload: `signet-<kind>-<name>`, hashed when longer than a name may be. */
export function reportName(kind: string, name: string): string {
  const full = `signet-${kind.toLowerCase()}-${name}`;
  if (full.length <= 253) return full;
  return `${full.slice(0, 236)}-${createHash("sha256").update(full).digest("hex").slice(0, 16)}`;
}

/** The Reports a cluster's compliance rows call for, keyed `namespace/name`. */
export function desiredReports(rows: readonly ComplianceRow[]): Map<string, OpenReport> {
  const byWorkload = new Map<string, ComplianceRow[]>();
  for (const r of rows) {
    const k = `${r.namespace}\u0000${r.workload}`;
    const list = byWorkload.get(k);
    if (list) list.push(r);
    else byWorkload.set(k, [r]);
  }
  const out = new Map<string, OpenReport>();
  for (const [k, list] of [...byWorkload].sort(([a], [b]) => a.localeCompare(b))) {
    const [namespace, workload] = k.split("\u0000") as [string, string];
    const slash = workload.indexOf("/");
    const kind = workload.slice(0, slash);
    const name = workload.slice(slash + 1);
    const subject = { apiVersion: API_VERSION_OF[kind] ?? "v1", kind, name, namespace };
    const results: OpenReport["results"] = list
      .map((r) => ({
        source: "signet" as const,
        policy: r.policy,
        rule: "image-signature",
        category: "supply chain",
        result: resultOf(r.verdict, r.mode),
        severity: severityOf(r.mode),
        message: `${r.container}: ${r.verdict}${r.reasons.length ? ` — ${r.reasons.join("; ")}` : ""}`.slice(0, 1000),
        scored: true,
        timestamp: { seconds: Math.floor(new Date(r.evaluatedAt).getTime() / 1000), nanos: 0 },
        resources: [subject],
        properties: {
          container: r.container,
          image: r.image,
          digest: r.digest,
          signer: r.signers.join(", ") || "none",
          logIndex: r.rekorLogIndexes.join(", ") || "none",
          timestampSource: r.rekorLogIndexes.length ? "rekor" : "none",
          policyVersion: String(r.policyVersion),
          verdict: r.verdict,
        },
      }))
      .sort((a, b) => a.properties.container.localeCompare(b.properties.container) || a.policy.localeCompare(b.policy));
    const summary: Record<Result, number> = { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 };
    for (const r of results) summary[r.result]++;
    // the digest leaves timestamps out: a re-evaluation with the same outcome does not rewrite the Report
    const digest = createHash("sha256")
      .update(JSON.stringify(results.map(({ timestamp: _t, ...rest }) => rest)))
      .digest("hex");
    const report: OpenReport = {
      apiVersion: `${REPORT_API.group}/${REPORT_API.version}`,
      kind: "Report",
      metadata: { name: reportName(kind, name), namespace, labels: { [MANAGED_BY.key]: MANAGED_BY.value }, annotations: { [DIGEST_ANNOTATION]: digest } },
      scope: subject,
      source: "signet",
      summary,
      results,
    };
    out.set(`${namespace}/${report.metadata.name}`, report);
  }
  return out;
}
