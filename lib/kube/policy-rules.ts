// Classifying a cluster's own image policies (pure): which rules Signet can represent
// (public keys, keyless identities, predicate-type attestations) and which it cannot (KMS or Secret
// keys, custom roots, CUE/Rego/JMESPath conditions, static authorities, Notary). The importer into
// Signet policies (lib/policy/import-cluster.ts) decides what to do with them.
import { z } from "zod";

/** One authority (ClusterImagePolicy) or one verifyImages entry (Kyverno), classified. */
export interface PolicyRuleClass {
  /** JSON path of the rule inside the object, e.g. `spec.authorities[0]`, `spec.rules[1].verifyImages[0]`. */
  path: string;
  /** The authority's or the Kyverno rule's name, when it has one. */
  name: string | null;
  supported: boolean;
  /** Why it is unsupported (or, when supported, what Signet ignores about it). */
  reasons: string[];
}

export interface PolicyClassification {
  rules: PolicyRuleClass[];
  /** Policy-level features that are not representable (CIP `spec.policy`, …). */
  policyReasons: string[];
  /** True when every rule is supported and nothing at policy level is lost. */
  supported: boolean;
}

const obj = z.record(z.string(), z.unknown());
const arr = z.array(obj);
const asObj = (v: unknown) => obj.safeParse(v).data;
const asArr = (v: unknown) => arr.safeParse(v).data ?? [];
const has = (o: Record<string, unknown> | undefined, k: string) => o !== undefined && o[k] !== undefined && o[k] !== null;

function finish(rules: PolicyRuleClass[], policyReasons: string[]): PolicyClassification {
  return { rules, policyReasons, supported: policyReasons.length === 0 && rules.length > 0 && rules.every((r) => r.supported) };
}

/** sigstore policy-controller ClusterImagePolicy (policy.sigstore.dev v1alpha1 / v1beta1). */
export function classifyClusterImagePolicy(raw: unknown): PolicyClassification {
  const spec = asObj(asObj(raw)?.spec) ?? {};
  const policyReasons: string[] = [];
  if (has(spec, "policy")) policyReasons.push("spec.policy (CUE/Rego over all authorities) is not evaluated by Signet");
  const rules = asArr(spec.authorities).map((a, i): PolicyRuleClass => {
    const reasons: string[] = [];
    let supported = true;
    const key = asObj(a.key);
    const keyless = asObj(a.keyless);
    if (key) {
      if (has(key, "secretRef")) {
        supported = false;
        reasons.push("key from a Secret (key.secretRef) is not readable with Signet's permissions");
      } else if (has(key, "kms")) {
        supported = false;
        reasons.push("KMS key (key.kms) is not supported");
      } else if (!has(key, "data")) {
        supported = false;
        reasons.push("key without inline data");
      }
    } else if (keyless) {
      if (has(keyless, "ca-cert") || has(keyless, "caCert")) {
        supported = false;
        reasons.push("keyless with a custom CA certificate (keyless.ca-cert) is not supported");
      }
      if (has(keyless, "trustRootRef")) {
        supported = false;
        reasons.push("keyless with a TrustRoot resource (trustRootRef) is not supported");
      }
      if (asArr(keyless.identities).length === 0) {
        supported = false;
        reasons.push("keyless without identities accepts any signer");
      }
    } else if (has(a, "static")) {
      supported = false;
      reasons.push(`static authority (action: ${String(asObj(a.static)?.action ?? "?")}) has no signer to verify`);
    } else {
      supported = false;
      reasons.push("authority has neither key nor keyless");
    }
    for (const [j, att] of asArr(a.attestations).entries()) {
      if (has(att, "policy")) {
        supported = false;
        reasons.push(`attestations[${j}].policy (CUE/Rego) is not evaluated by Signet`);
      }
    }
    if (asArr(a.source).some((s) => has(s, "oci"))) reasons.push("signatures are read from another repository (source.oci)");
    return { path: `spec.authorities[${i}]`, name: typeof a.name === "string" ? a.name : null, supported, reasons };
  });
  if (rules.length === 0) policyReasons.push("no authorities");
  return finish(rules, policyReasons);
}

/** Kyverno ClusterPolicy / Policy (kyverno.io/v1): one entry per `verifyImages` item of each rule. */
export function classifyKyvernoPolicy(raw: unknown): PolicyClassification {
  const spec = asObj(asObj(raw)?.spec) ?? {};
  const rules: PolicyRuleClass[] = [];
  for (const [i, rule] of asArr(spec.rules).entries()) {
    for (const [j, vi] of asArr(rule.verifyImages).entries()) {
      const reasons: string[] = [];
      let supported = true;
      const type = typeof vi.type === "string" ? vi.type : "Cosign";
      if (type === "Notary") {
        supported = false;
        reasons.push("Notary signatures are not supported");
      }
      const entries = asArr(vi.attestors).flatMap((a) => asArr(a.entries));
      if (entries.length === 0 && asArr(vi.attestations).length === 0) {
        supported = false;
        reasons.push("no attestors");
      }
      for (const e of entries) {
        const keys = asObj(e.keys);
        const keyless = asObj(e.keyless);
        if (keys) {
          if (has(keys, "kms")) {
            supported = false;
            reasons.push("KMS key (keys.kms) is not supported");
          }
          if (has(keys, "secret")) {
            supported = false;
            reasons.push("key from a Secret (keys.secret) is not readable with Signet's permissions");
          }
        } else if (keyless) {
          if (has(keyless, "roots")) {
            supported = false;
            reasons.push("keyless with custom roots (keyless.roots) is not supported");
          }
        } else if (has(e, "certificates")) {
          supported = false;
          reasons.push("certificate attestors (certificates) are not supported");
        } else if (has(e, "attestor")) {
          supported = false;
          reasons.push("nested attestor sets are not supported");
        }
      }
      for (const [k, att] of asArr(vi.attestations).entries()) {
        if (asArr(att.conditions).length) {
          supported = false;
          reasons.push(`attestations[${k}].conditions (JMESPath) are not evaluated by Signet`);
        }
      }
      rules.push({
        path: `spec.rules[${i}].verifyImages[${j}]`,
        name: typeof rule.name === "string" ? rule.name : null,
        supported,
        reasons: [...new Set(reasons)],
      });
    }
  }
  return finish(rules, rules.length ? [] : ["no verifyImages rules"]);
}

/** True when a Kyverno policy has at least one `verifyImages` rule. */
export function hasVerifyImages(raw: unknown): boolean {
  return asArr(asObj(asObj(raw)?.spec)?.rules).some((r) => asArr(r.verifyImages).length > 0);
}
