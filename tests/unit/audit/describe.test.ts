import { describe, expect, it } from "vitest";
import { describeAuditEvent, type DescribableEvent } from "@/lib/audit/describe";

const base: DescribableEvent = { kind: "system", actor: "auth", clusterName: null, namespace: null, workload: null, imageDigest: null, policyName: null, policyVersion: null, verdict: null, previousVerdict: null, details: {} };

describe("audit event summaries", () => {
  it("tells a verdict change: digest, where, policy and old -> new", () => {
    const e = { ...base, kind: "verdict", clusterName: "prod", namespace: "pay", workload: "Deployment/api", imageDigest: "sha256:ab", policyName: "release", policyVersion: 2, previousVerdict: "verified", verdict: "failed" };
    expect(describeAuditEvent(e)).toBe("sha256:ab in prod/pay/Deployment/api under release v2: verified -> failed");
  });

  it("tells failed sign-ins in aggregate, per account and per address", () => {
    const d = { action: "auth.sign_in_failed", account: "a@x.test", failures: 4, addresses: ["10.0.0.1", "10.0.0.2"], address: "10.0.0.2", addressFailures: 3, accounts: ["a@x.test"] };
    expect(describeAuditEvent({ ...base, details: d })).toBe("4 failed sign-ins for a@x.test since its last success (from 10.0.0.1, 10.0.0.2); 3 failures from 10.0.0.2 today (accounts a@x.test)");
    expect(describeAuditEvent({ ...base, details: { action: "auth.throttled", scope: "sign-in", address: "10.0.0.9", attempts: 6, windowSeconds: 60 } })).toBe("throttled 10.0.0.9: over 5 sign-in attempts in 60 s");
  });

  it("falls back to the action and its fields, bounded", () => {
    const long = "x".repeat(2000);
    const s = describeAuditEvent({ ...base, kind: "admin", details: { action: "something.new", name: long } });
    expect(s.startsWith("something.new name xxx")).toBe(true);
    expect(s.length).toBeLessThanOrEqual(400);
    expect(describeAuditEvent({ ...base, kind: "scan", details: null })).toBe("scan");
  });
});
