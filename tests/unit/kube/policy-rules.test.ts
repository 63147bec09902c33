import { describe, expect, it } from "vitest";
import { classifyClusterImagePolicy, classifyKyvernoPolicy, hasVerifyImages } from "@/lib/kube/policy-rules";
import { PEM, SAMPLE_CIP, SAMPLE_KYVERNO } from "@/tests/support/kube-fixtures";

describe("classifyClusterImagePolicy", () => {
  it("classifies each authority", () => {
    const c = classifyClusterImagePolicy(SAMPLE_CIP);
    expect(c.rules.map((r) => [r.name, r.supported])).toEqual([["ci-key", true], ["keyless", true], ["kms", false], ["att", false]]);
    expect(c.rules[2]!.reasons[0]).toMatch(/KMS/);
    expect(c.rules[3]!.reasons[0]).toMatch(/policy \(cue\) is not evaluated/);
    expect(c.supported).toBe(false);
  });
  it("flags policy-level findings; static authorities are supported", () => {
    const cip = (spec: object) => ({ apiVersion: "policy.sigstore.dev/v1beta1", kind: "ClusterImagePolicy", metadata: { name: "x" }, spec: { images: [{ glob: "**" }], ...spec } });
    const c = classifyClusterImagePolicy(cip({ policy: { type: "rego" }, authorities: [{ static: { action: "pass" } }] }));
    expect(c.policyReasons).toHaveLength(1);
    expect(c.policyReasons[0]).toMatch(/spec\.policy/);
    expect(c.rules[0]).toMatchObject({ supported: true });
    expect(c.supported).toBe(false);
    expect(classifyClusterImagePolicy(cip({ authorities: [{ key: { data: PEM } }] })).supported).toBe(true);
    expect(classifyClusterImagePolicy({ spec: {} }).supported).toBe(false);
  });
});

describe("classifyKyvernoPolicy", () => {
  it("classifies each verifyImages entry of each rule", () => {
    const c = classifyKyvernoPolicy(SAMPLE_KYVERNO);
    expect(c.rules.map((r) => [r.path, r.supported])).toEqual([
      ["spec.rules[1].verifyImages[0]", true],
      ["spec.rules[1].verifyImages[1]", false],
      ["spec.rules[1].verifyImages[2]", false],
    ]);
    expect(c.rules[1]!.reasons).toEqual(['type "Notary" is not supported']);
    expect(c.rules[2]!.reasons[0]).toMatch(/conditions are not evaluated/);
  });
  it("knows which policies verify images", () => {
    expect(hasVerifyImages(SAMPLE_KYVERNO)).toBe(true);
    expect(hasVerifyImages({ spec: { rules: [{ name: "x", validate: {} }] } })).toBe(false);
    expect(classifyKyvernoPolicy({ apiVersion: "kyverno.io/v1", kind: "ClusterPolicy", metadata: { name: "x" }, spec: { rules: [] } })).toMatchObject({ supported: false, policyReasons: ["no verifyImages rules"] });
  });
});
