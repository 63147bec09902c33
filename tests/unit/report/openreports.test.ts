import { describe, expect, it } from "vitest";
import { desiredReports, reportName, resultOf, severityOf } from "@/lib/report/openreports";
import type { ComplianceRow } from "@/lib/report/pipeline";

const row = (o: Partial<ComplianceRow>): ComplianceRow => ({
  cluster: "c",
  namespace: "ns",
  workload: "Deployment/api",
  container: "app",
  image: "ghcr.io/acme/api:1",
  digest: `sha256:${"a".repeat(64)}`,
  policy: "release",
  policyVersion: 1,
  mode: "enforce",
  verdict: "verified",
  evaluatedAt: "2026-01-01T00:00:00.000Z",
  signers: [],
  rekorLogIndexes: [],
  reasons: [],
  eventsInRange: 0,
  ...o,
});

describe("OpenReports mapping", () => {
  it("maps verdicts and modes to results and severities", () => {
    expect(["verified", "failed", "unsigned", "error", "unmatched"].map((v) => resultOf(v, "enforce"))).toEqual(["pass", "fail", "fail", "error", "skip"]);
    expect(["failed", "unsigned"].map((v) => resultOf(v, "audit"))).toEqual(["warn", "warn"]);
    expect(["enforce", "warn", "audit"].map(severityOf)).toEqual(["high", "medium", "low"]);
  });

  it("one Report per workload, digest independent of evaluation time, names within 253 characters", () => {
    const a = desiredReports([row({}), row({ container: "sidecar", verdict: "unsigned", reasons: ["no signature"] }), row({ workload: "Pod/debug", verdict: "error" })]);
    expect([...a.keys()]).toEqual(["ns/signet-deployment-api", "ns/signet-pod-debug"]);
    const api = a.get("ns/signet-deployment-api")!;
    expect(api.summary).toEqual({ pass: 1, fail: 1, warn: 0, error: 0, skip: 0 });
    expect(api.scope).toEqual({ apiVersion: "apps/v1", kind: "Deployment", name: "api", namespace: "ns" });
    expect(api.results[1]!.message).toBe("sidecar: unsigned — no signature");
    const later = desiredReports([row({ evaluatedAt: "2026-02-01T00:00:00.000Z" }), row({ container: "sidecar", verdict: "unsigned", reasons: ["no signature"] }), row({ workload: "Pod/debug", verdict: "error" })]);
    expect(later.get("ns/signet-deployment-api")!.metadata.annotations).toEqual(api.metadata.annotations);
    const changed = desiredReports([row({ verdict: "failed" })]);
    expect(changed.get("ns/signet-deployment-api")!.metadata.annotations).not.toEqual(api.metadata.annotations);
    const long = reportName("Deployment", "x".repeat(260));
    expect(long.length).toBeLessThanOrEqual(253);
    expect(long).not.toBe(reportName("Deployment", `${"x".repeat(259)}y`));
  });
});
