/**
 * `signet report` for pipelines, pure: coverage figures of a scope plus its container × policy rows,
 * rendered as JSON, CSV (the compliance export's columns) or JUnit XML (one test case per container ×
 * policy: failed / unsigned fail, error errs, the suite per namespace), and the threshold check.
 */
import type { CoverageFigures } from "@/lib/coverage/compute";
import { coverage, percent } from "@/lib/coverage/compute";
import type { ComplianceReportDto } from "@/lib/dto/dashboard";
import { csvLine } from "@/lib/ui/csv";

export type ComplianceRow = ComplianceReportDto["rows"][number];

export interface PipelineReport {
  generatedAt: string;
  /** `clusters`: the clusters of a live scan of several (`cluster` is then null). */
  scope: { cluster: string | null; clusters?: string[]; namespace: string | null; policy: string | null };
  /** The scan this report was made from (`signet report --kubeconfig`): id, status, clusters. */
  scan?: { id: string; status: string; clusters: string[] };
  /** Containers in scope (with --policy: those the policy applies to) and their overall verdicts. */
  coverage: CoverageFigures & { coveragePct: number };
  threshold: number | null;
  passed: boolean;
  rows: ComplianceRow[];
}

export function makeReport(input: {
  generatedAt: string;
  scope: PipelineReport["scope"];
  figures: CoverageFigures;
  rows: ComplianceRow[];
  threshold: number | null;
}): PipelineReport {
  const coveragePct = coverage(input.figures) ?? 0;
  return {
    generatedAt: input.generatedAt,
    scope: input.scope,
    coverage: { ...input.figures, coveragePct },
    threshold: input.threshold,
    passed: input.threshold === null || coveragePct >= input.threshold,
    rows: input.rows,
  };
}

export const CSV_HEADER = [
  "cluster", "namespace", "workload", "container", "image", "digest", "policy", "policy_version", "mode", "verdict",
  "evaluated_at", "signers", "rekor_log_indexes", "reasons", "events_in_range",
] as const;

export function toCsv(report: PipelineReport): string {
  return (
    csvLine(CSV_HEADER) +
    report.rows
      .map((r) =>
        csvLine([
          r.cluster, r.namespace, r.workload, r.container, r.image, r.digest, r.policy, r.policyVersion, r.mode, r.verdict,
          r.evaluatedAt, r.signers, r.rekorLogIndexes, r.reasons.join("; "), r.eventsInRange,
        ]),
      )
      .join("")
  );
}

/** XML 1.0 text: the five entities escaped, characters XML cannot carry dropped. */
export function xmlText(s: string): string {
  return s
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD]/gu, "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

export function toJunit(report: PipelineReport): string {
  const suites = new Map<string, ComplianceRow[]>();
  for (const r of report.rows) {
    const k = `${r.cluster}/${r.namespace}`;
    suites.set(k, [...(suites.get(k) ?? []), r]);
  }
  const count = (rows: ComplianceRow[], verdicts: string[]) => rows.filter((r) => verdicts.includes(r.verdict)).length;
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  const c = report.coverage;
  out.push(
    `<testsuites name="signet" tests="${report.rows.length}" failures="${count(report.rows, ["failed", "unsigned"])}" errors="${count(report.rows, ["error"])}" timestamp="${xmlText(report.generatedAt)}">`,
    `  <properties>`,
    `    <property name="coverage" value="${c.coveragePct}"/>`,
    `    <property name="containers" value="${c.containersTotal}"/>`,
    `    <property name="containersVerified" value="${c.containersVerified}"/>`,
    ...(report.threshold !== null ? [`    <property name="threshold" value="${report.threshold}"/>`] : []),
    ...(report.scan ? [`    <property name="scan" value="${xmlText(report.scan.id)}"/>`, `    <property name="scanStatus" value="${xmlText(report.scan.status)}"/>`] : []),
    `  </properties>`,
  );
  for (const [name, rows] of suites) {
    out.push(`  <testsuite name="${xmlText(name)}" tests="${rows.length}" failures="${count(rows, ["failed", "unsigned"])}" errors="${count(rows, ["error"])}" skipped="${count(rows, ["unmatched"])}">`);
    for (const r of rows) {
      const message = xmlText(`${r.verdict}${r.reasons.length ? `: ${r.reasons.join("; ")}` : ""}`);
      const body =
        r.verdict === "failed" || r.verdict === "unsigned"
          ? `<failure type="${r.verdict}" message="${message}"/>`
          : r.verdict === "error"
            ? `<error type="error" message="${message}"/>`
            : r.verdict === "unmatched"
              ? `<skipped/>`
              : "";
      const attrs = `classname="${xmlText(`${r.cluster}.${r.namespace}.${r.workload}`)}" name="${xmlText(`${r.container} ${r.image} [${r.policy}]`)}"`;
      out.push(body ? `    <testcase ${attrs}>${body}</testcase>` : `    <testcase ${attrs}/>`);
    }
    out.push(`  </testsuite>`);
  }
  out.push(`</testsuites>`);
  return out.join("\n") + "\n";
}

/** One line for stderr beside the machine-readable output. */
export function summaryLine(report: PipelineReport): string {
  const c = report.coverage;
  const scope = [report.scope.cluster && `cluster ${report.scope.cluster}`, report.scope.clusters && `clusters ${report.scope.clusters.join(", ")}`, report.scope.namespace && `namespace ${report.scope.namespace}`, report.scope.policy && `policy ${report.scope.policy}`].filter(Boolean).join(", ") || "all clusters";
  const verdict = report.threshold === null ? "" : report.passed ? ` ≥ ${report.threshold}%: pass` : ` < ${report.threshold}%: FAIL`;
  const scanned = report.scan ? `, scan ${report.scan.id} ${report.scan.status}` : "";
  return `signet report (${scope}${scanned}): ${c.coveragePct}% of ${c.containersTotal} containers verified (failed ${c.containersFailed}, unsigned ${c.containersUnsigned}, error ${c.containersError}, unmatched ${c.containersUnmatched})${verdict}`;
}
