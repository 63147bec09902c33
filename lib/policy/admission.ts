import type { VerdictValue } from "@/lib/policy/evaluate";
import type { PolicySpec } from "@/lib/policy/schema";

/**
 * What the cluster's admission controller decides for an image under a policy, as Signet's verdict
 * predicts it (pure): `enforce` denies anything not verified (an `error` too: policy-controller and
 * Kyverno fail closed by default), `warn` admits with a warning, `audit` admits. A policy that does not
 * apply decides nothing (`null`). Used by the drift view and the agreement test with policy-controller.
 */
export type AdmissionDecision = "admit" | "warn" | "deny";

export function predictedAdmission(verdict: VerdictValue | "unmatched", mode: PolicySpec["mode"]): AdmissionDecision | null {
  if (verdict === "unmatched") return null;
  if (verdict === "verified") return "admit";
  return mode === "enforce" ? "deny" : mode === "warn" ? "warn" : "admit";
}
