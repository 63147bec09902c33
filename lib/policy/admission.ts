import type { Reason, VerdictValue } from "@/lib/policy/evaluate";
import type { PolicySpec } from "@/lib/policy/schema";

/**
 * Admission decisions (pure): what an admission controller decides for an image under a policy, as
 * Signet's verdict predicts it, and the decision for a whole object (every container image × every
 * policy in scope). Signet's own validating webhook (lib/admission) answers with `decideAdmission`;
 * the namespace page's "if this policy were enforced" asks the same function with the mode forced to
 * `enforce`; the drift view and the agreement test with policy-controller use `predictedAdmission`.
 */
export type AdmissionDecision = "admit" | "warn" | "deny";
export type PolicyMode = PolicySpec["mode"];

/**
 * `enforce` denies anything not verified (an `error` too: policy-controller and Kyverno fail closed by
 * default), `warn` admits with a warning, `audit` admits. A policy that does not apply decides nothing (`null`).
 */
export function predictedAdmission(verdict: VerdictValue | "unmatched", mode: PolicyMode): AdmissionDecision | null {
  if (verdict === "unmatched") return null;
  if (verdict === "verified") return "admit";
  return mode === "enforce" ? "deny" : mode === "warn" ? "warn" : "admit";
}

/** One policy's verdict for one container image of the object under review. */
export interface AdmissionOutcome {
  container: string;
  /** The image reference as the object writes it. */
  image: string;
  policy: string;
  mode: PolicyMode;
  verdict: VerdictValue;
  reasons: readonly Pick<Reason, "code" | "message">[];
}

export interface ObjectAdmission {
  /** deny when any outcome denies, warn when any warns, otherwise admit (also with no outcome at all). */
  decision: AdmissionDecision;
  /** The denying outcomes (decision deny), for the message. */
  denied: AdmissionOutcome[];
  /** The warning outcomes, one AdmissionReview warning each. */
  warned: AdmissionOutcome[];
  /** A message naming each denying policy, image and reason (empty when admitted). */
  message: string;
  /** One line per warning outcome. */
  warnings: string[];
}

/** Why an outcome is not verified, in one line. */
export function outcomeReason(o: AdmissionOutcome): string {
  const first = o.reasons.find((r) => r.code !== "satisfied" && r.code !== "retiring-authority") ?? o.reasons[0];
  return first ? first.message : o.verdict;
}

function line(o: AdmissionOutcome): string {
  return `policy "${o.policy}" (${o.mode}): image ${o.image} (container ${o.container}) is ${o.verdict}: ${outcomeReason(o)}`;
}

/**
 * Bounds of the answer: the API server truncates a warning over 256 characters and drops warnings past
 * 4 KiB in total; a denial message is bounded too (it is shown by kubectl and stored with the rejection).
 */
const MAX_MESSAGE = 1024;
const MAX_WARNING = 256;
const MAX_WARNINGS = 8;

/**
 * The decision for one object. `modeOverride` asks "what if every policy were in this mode"
 * (the dry run uses `enforce`).
 */
export function decideAdmission(outcomes: readonly AdmissionOutcome[], modeOverride?: PolicyMode): ObjectAdmission {
  const denied: AdmissionOutcome[] = [];
  const warned: AdmissionOutcome[] = [];
  for (const o of outcomes) {
    const d = predictedAdmission(o.verdict, modeOverride ?? o.mode);
    if (d === "deny") denied.push(o);
    else if (d === "warn") warned.push(o);
  }
  const clip = (s: string, max: number) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);
  const message = denied.length
    ? clip(`Signet denied the request: ${denied.slice(0, 4).map(line).join("; ")}${denied.length > 4 ? `; and ${denied.length - 4} more` : ""}`, MAX_MESSAGE)
    : "";
  const warnings = warned.slice(0, MAX_WARNINGS).map((o) => clip(`Signet: ${line(o)}`, MAX_WARNING));
  if (warned.length > MAX_WARNINGS) warnings.push(`Signet: and ${warned.length - MAX_WARNINGS} more warnings`);
  return { decision: denied.length ? "deny" : warned.length ? "warn" : "admit", denied, warned, message, warnings };
}
