// Classifying a cluster's own image policies (pure): which rules Signet represents exactly and which it
// cannot. The knowledge lives in the importers (lib/policy/import-cluster.ts): a rule is supported when
// importing it reports nothing about it, so the classification and the import never disagree.
import { z } from "zod";
import { importClusterImagePolicy, importImageValidatingPolicy, importKyvernoPolicy } from "@/lib/policy/import-cluster";

/** One authority (ClusterImagePolicy), one verifyImages entry (Kyverno) or one attestor (ImageValidatingPolicy), classified. */
export interface PolicyRuleClass {
  /** JSON path of the rule inside the object, e.g. `spec.authorities[0]`, `spec.rules[1].verifyImages[0]`. */
  path: string;
  /** The authority's, the Kyverno rule's or the attestor's name, when it has one. */
  name: string | null;
  supported: boolean;
  /** What the import reports about it (why it is unsupported, or what Signet reads differently). */
  reasons: string[];
}

export interface PolicyClassification {
  rules: PolicyRuleClass[];
  /** Policy-level findings of the import (CIP `spec.policy`, unparsable CEL validations, …). */
  policyReasons: string[];
  /** True when the import produced a policy and reported nothing. */
  supported: boolean;
}

const obj = z.record(z.string(), z.unknown());
const arr = z.array(obj);
const asObj = (v: unknown) => obj.safeParse(v).data;
const asArr = (v: unknown) => arr.safeParse(v).data ?? [];

function classify(lines: string[], documents: number, rules: Array<{ path: string; name: string | null; prefix: string }>): PolicyClassification {
  const claimed = new Set<string>();
  const out = rules.map((r): PolicyRuleClass => {
    const reasons = lines.filter((l) => l.startsWith(r.prefix));
    reasons.forEach((l) => claimed.add(l));
    return { path: r.path, name: r.name, supported: reasons.length === 0, reasons: reasons.map((l) => l.slice(r.prefix.length).replace(/^[^:]*:\s*/, "")) };
  });
  const policyReasons = lines.filter((l) => !claimed.has(l));
  return { rules: out, policyReasons, supported: documents > 0 && lines.length === 0 };
}

/** sigstore policy-controller ClusterImagePolicy (policy.sigstore.dev v1alpha1 / v1beta1). */
export function classifyClusterImagePolicy(raw: unknown): PolicyClassification {
  const r = importClusterImagePolicy(raw);
  const authorities = asArr(asObj(asObj(raw)?.spec)?.authorities);
  return classify(
    r.unsupported,
    r.documents.length,
    authorities.map((a, i) => ({ path: `spec.authorities[${i}]`, name: typeof a.name === "string" ? a.name : null, prefix: `authorities[${i}] ` })),
  );
}

/** Kyverno ClusterPolicy / Policy (kyverno.io/v1): one entry per `verifyImages` item of each rule; ImageValidatingPolicy: one per attestor. */
export function classifyKyvernoPolicy(raw: unknown): PolicyClassification {
  const spec = asObj(asObj(raw)?.spec) ?? {};
  const kind = asObj(raw)?.kind;
  if (kind === "ImageValidatingPolicy" || kind === "NamespacedImageValidatingPolicy") {
    const r = importImageValidatingPolicy(raw);
    return classify(
      r.unsupported,
      r.documents.length,
      asArr(spec.attestors).map((a, i) => ({ path: `spec.attestors[${i}]`, name: typeof a.name === "string" ? a.name : null, prefix: `attestors[${i}] ` })),
    );
  }
  const r = importKyvernoPolicy(raw);
  const rules = asArr(spec.rules).flatMap((rule, i) => {
    const name = typeof rule.name === "string" ? rule.name : `rule-${i}`;
    return asArr(rule.verifyImages).map((_, j) => ({ path: `spec.rules[${i}].verifyImages[${j}]`, name: typeof rule.name === "string" ? rule.name : null, prefix: `rule ${name} verifyImages[${j}]` }));
  });
  const c = classify(r.unsupported, r.documents.length, rules);
  return rules.length ? c : { ...c, supported: false, policyReasons: [...c.policyReasons, "no verifyImages rules"] };
}

/** True when a Kyverno policy has at least one `verifyImages` rule. */
export function hasVerifyImages(raw: unknown): boolean {
  return asArr(asObj(asObj(raw)?.spec)?.rules).some((r) => asArr(r.verifyImages).length > 0);
}
