import type { DiscoveryFact, EvidenceFact, SignerFact } from "@/lib/policy/facts";
import { policyRegexMatches } from "@/lib/policy/regex";
import type { AttestationRequirement, Condition, PolicyAuthority, PolicySpec, SignatureClause } from "@/lib/policy/schema";

/**
 * Policy evaluation, pure: `evaluate(policy, evidence, context) → verdict` with machine-readable reasons.
 *
 * Rules that protect against a wrong "verified":
 * - only evidence with status `valid` can satisfy a requirement;
 * - a revoked authority, or one outside its validity window at signing time, satisfies nothing;
 * - `unsigned` only when discovery said authoritatively that nothing exists;
 * - when requirements are not met and anything could not be checked (discovery error, evidence with
 *   status `error`), the verdict is `error`, not `failed` and never `unsigned`.
 */

export type VerdictValue = "verified" | "failed" | "unsigned" | "error";

export type ReasonCode =
  // evidence-level (from verification)
  | "signature"
  | "payload-digest"
  | "tlog-set"
  | "dsse-subject"
  | "malformed"
  | "tlog-inclusion"
  | "tlog-body-mismatch"
  | "cert-expired-at-integrated-time"
  | "cert-chain"
  | "cert-eku"
  | "sct"
  | "timestamp"
  | "evidence-invalid"
  // policy-level
  | "tlog-missing"
  | "identity"
  | "issuer"
  | "extension"
  | "no-matching-key"
  | "revoked"
  | "outside-validity"
  | "requirement-not-met"
  | "predicate-type"
  | "attestation-condition"
  | "no-signatures"
  | "static-fail"
  | "unsigned"
  | "discovery-error"
  | "evidence-error"
  // informative, on verified verdicts
  | "satisfied"
  | "retiring-authority";

export interface Reason {
  code: ReasonCode;
  message: string;
  authority?: string;
  evidenceId?: string;
}

export interface Verdict {
  value: VerdictValue;
  reasons: Reason[];
  /** Authorities whose signatures counted toward the result. */
  satisfiedBy: string[];
  /** Evidence that satisfied the requirements (for the audit log and the UI). */
  evidenceIds: string[];
}

export interface EvaluationContext {
  discovery: DiscoveryFact;
  now: Date;
}

/** Which evidence reason names an invalid signature in the verdict (the first one present); others are "evidence-invalid". */
const PREFERRED_INVALID: ReasonCode[] = [
  "payload-digest",
  "dsse-subject",
  "tlog-set",
  "tlog-inclusion",
  "tlog-body-mismatch",
  "cert-expired-at-integrated-time",
  "cert-chain",
  "cert-eku",
  "sct",
  "timestamp",
  "signature",
  "malformed",
];

/** The time a signature is known to have existed: transparency log, then RFC 3161, else unknown. */
function signedAt(e: EvidenceFact): Date | null {
  return e.tlog?.integratedTime ?? e.timestamp ?? null;
}

function matchesValue(value: string | undefined, expected: string | undefined, expectedRe: string | undefined): boolean {
  if (value === undefined) return false;
  if (expected !== undefined) return value === expected;
  if (expectedRe !== undefined) return policyRegexMatches(expectedRe, value);
  return false;
}

function matchesCondition(value: string | undefined, c: Condition): boolean {
  if (value === undefined) return false;
  return typeof c === "string" ? value === c : policyRegexMatches(c.regexp, value);
}

interface Match {
  ok: boolean;
  /** When not ok: the most specific reason this evidence does not belong to the authority. */
  reason?: ReasonCode;
  detail?: string;
}

/**
 * Does valid evidence belong to an authority? Key: fingerprint. Keyless: some identity's issuer and
 * subject, all extension constraints, the same trusted root.
 */
export function signerMatchesAuthority(signer: SignerFact | null, authority: PolicyAuthority, keyFingerprints: Map<string, string>): Match {
  if (!signer) return { ok: false, reason: "no-matching-key" };
  if (authority.static) return { ok: false, reason: "no-matching-key", detail: "a static authority trusts no signer" };
  if (authority.key) {
    if (signer.kind !== "key") return { ok: false, reason: "no-matching-key", detail: "signed with a certificate, authority is a key" };
    const fp = keyFingerprints.get(authority.name);
    if (fp && signer.fingerprints.includes(fp)) return { ok: true };
    return { ok: false, reason: "no-matching-key", detail: "signature does not verify with this authority's key" };
  }
  const keyless = authority.keyless!;
  if (signer.kind !== "keyless") return { ok: false, reason: "no-matching-key", detail: "signed with a key, authority is keyless" };
  if (signer.trustedRoot !== keyless.trustedRoot) return { ok: false, reason: "issuer", detail: `certificate chains to "${signer.trustedRoot}", authority trusts "${keyless.trustedRoot}"` };
  let best: Match = { ok: false, reason: "issuer", detail: `issuer ${signer.issuer} is not trusted` };
  for (const id of keyless.identities) {
    const issuerOk = matchesValue(signer.issuer, id.issuer, id.issuerRegExp);
    const subjectOk = matchesValue(signer.identity, id.subject, id.subjectRegExp);
    if (issuerOk && subjectOk) {
      best = { ok: true };
      break;
    }
    if (issuerOk && !subjectOk) best = { ok: false, reason: "identity", detail: `identity ${signer.identity} does not match` };
  }
  if (!best.ok) return best;
  for (const [name, c] of Object.entries(keyless.extensions ?? {})) {
    if (c === undefined) continue;
    if (!matchesCondition(signer.extensions[name], c)) {
      return { ok: false, reason: "extension", detail: `certificate extension ${name}=${signer.extensions[name] ?? "(absent)"} does not match` };
    }
  }
  return { ok: true };
}

function clausesOf(spec: PolicySpec): SignatureClause[] {
  const s = spec.require.signatures;
  if (s === undefined) return [{ anyOf: spec.authorities.map((a) => a.name) }];
  return Array.isArray(s) ? s : [s];
}

function clauseHolds(c: SignatureClause, satisfied: Set<string>): boolean {
  if ("anyOf" in c) return c.anyOf.some((n) => satisfied.has(n));
  if ("allOf" in c) return c.allOf.every((n) => satisfied.has(n));
  return c.of.filter((n) => satisfied.has(n)).length >= c.atLeast;
}

function describeClause(c: SignatureClause): string {
  if ("anyOf" in c) return `any of [${c.anyOf.join(", ")}]`;
  if ("allOf" in c) return `all of [${c.allOf.join(", ")}]`;
  return `at least ${c.atLeast} of [${c.of.join(", ")}]`;
}

/**
 * Which authorities a piece of valid evidence satisfies, and why it does not satisfy the others.
 * Authority status and validity windows apply here.
 */
function authoritiesFor(
  e: EvidenceFact,
  spec: PolicySpec,
  keyFingerprints: Map<string, string>,
  now: Date,
  reasons: Reason[],
): string[] {
  const out: string[] = [];
  for (const a of spec.authorities) {
    const m = signerMatchesAuthority(e.signer, a, keyFingerprints);
    if (!m.ok) {
      reasons.push({ code: m.reason ?? "no-matching-key", message: m.detail ?? "does not match", authority: a.name, evidenceId: e.id });
      continue;
    }
    if (a.signatureFormat && e.format && e.format !== a.signatureFormat) {
      reasons.push({ code: "no-matching-key", message: `a ${e.format === "bundle" ? "Sigstore bundle" : "classic cosign layer"}; authority ${a.name} reads only ${a.signatureFormat} signatures`, authority: a.name, evidenceId: e.id });
      continue;
    }
    if (a.status === "revoked") {
      reasons.push({ code: "revoked", message: `authority ${a.name} is revoked`, authority: a.name, evidenceId: e.id });
      continue;
    }
    // A short-lived certificate means nothing without a trusted time: keyless needs a log entry or an
    // RFC 3161 timestamp, unless its authority says `requireTlog: false` (the certificate was then
    // checked valid now by verification, as cosign does with the log ignored). The authority's
    // `requireTlog`, else the policy's, may require a log entry for everything.
    if (((a.requireTlog ?? spec.requireTlog) && !e.tlog) || (a.keyless && a.requireTlog !== false && !e.tlog && !e.timestamp)) {
      reasons.push({ code: "tlog-missing", message: "no transparency-log entry, and the policy requires one", authority: a.name, evidenceId: e.id });
      continue;
    }
    const at = signedAt(e) ?? now;
    if ((a.validFrom && at < a.validFrom) || (a.validUntil && at > a.validUntil)) {
      reasons.push({
        code: "outside-validity",
        message: `signed at ${at.toISOString()}, outside the validity of ${a.name}`,
        authority: a.name,
        evidenceId: e.id,
      });
      continue;
    }
    out.push(a.name);
  }
  return out;
}

function attestationAuthority(spec: PolicySpec, name: string): boolean {
  return spec.authorities.some((a) => a.name === name && a.attestations !== undefined);
}

/**
 * Authorities satisfied without an image signature (policy-controller's semantics): `static: pass`
 * always, `static: fail` never; an authority with `attestations` when, for every listed predicate
 * type, a valid attestation of that type matches the authority (its signer, status, validity, log).
 */
function staticAndAttestationAuthorities(
  spec: PolicySpec,
  attestations: readonly EvidenceFact[],
  keyFingerprints: Map<string, string>,
  now: Date,
  reasons: Reason[],
): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const a of spec.authorities) {
    if (a.static) {
      if (a.static.action === "pass") out.set(a.name, []);
      else reasons.push({ code: "static-fail", message: `authority ${a.name} is static fail${a.static.message ? `: ${a.static.message}` : ""}`, authority: a.name });
      continue;
    }
    if (!a.attestations) continue;
    const mine = attestations.filter((e) => e.status === "valid" && authoritiesFor(e, spec, keyFingerprints, now, reasons).includes(a.name));
    const ids: string[] = [];
    const missing = a.attestations.filter(({ predicateType }) => {
      const hit = mine.find((e) => e.predicateType === predicateType);
      if (hit) ids.push(hit.id);
      return !hit;
    });
    if (missing.length === 0) out.set(a.name, ids);
    else reasons.push({ code: "predicate-type", message: `authority ${a.name}: no valid attestation of type ${missing.map((m) => m.predicateType).join(", ")} signed by it`, authority: a.name });
  }
  return out;
}

function attestationSatisfies(
  e: EvidenceFact,
  req: AttestationRequirement,
  eligible: string[],
  reasons: Reason[],
): boolean {
  if (e.predicateType !== req.predicateType) return false;
  if (req.signedBy && !req.signedBy.some((n) => eligible.includes(n))) {
    reasons.push({ code: "no-matching-key", message: `attestation ${req.predicateType} not signed by ${req.signedBy.join(" or ")}`, evidenceId: e.id });
    return false;
  }
  if (!req.signedBy && eligible.length === 0) return false;
  const p = e.provenance ?? {};
  for (const [field, c] of Object.entries(req.conditions ?? {})) {
    if (c === undefined) continue;
    const value = p[field as keyof typeof p];
    if (!matchesCondition(value, c)) {
      reasons.push({
        code: "attestation-condition",
        message: `${req.predicateType}: ${field} is ${value ?? "(absent)"}, expected ${typeof c === "string" ? c : `/${c.regexp}/`}`,
        evidenceId: e.id,
      });
      return false;
    }
  }
  return true;
}

/**
 * Evaluates one policy for one image's evidence.
 * `keyFingerprints` maps key authorities' names to "sha256:<hex>" SPKI fingerprints (computed once by
 * the caller, which owns PEM parsing).
 */
export function evaluate(
  spec: PolicySpec,
  evidence: readonly EvidenceFact[],
  ctx: EvaluationContext,
  keyFingerprints: Map<string, string>,
): Verdict {
  const reasons: Reason[] = [];
  const signatures = evidence.filter((e) => e.kind === "signature");
  const attestations = evidence.filter((e) => e.kind === "attestation");

  // 1. signatures → satisfied authorities
  const satisfied = new Map<string, string[]>(); // authority → evidence ids
  for (const e of signatures) {
    if (e.status !== "valid") continue;
    for (const a of authoritiesFor(e, spec, keyFingerprints, ctx.now, reasons)) {
      if (attestationAuthority(spec, a)) continue;
      satisfied.set(a, [...(satisfied.get(a) ?? []), e.id]);
    }
  }
  for (const [a, ids] of staticAndAttestationAuthorities(spec, attestations, keyFingerprints, ctx.now, reasons)) satisfied.set(a, ids);
  const satisfiedNames = new Set(satisfied.keys());
  const clauses = clausesOf(spec);
  const failedClauses = clauses.filter((c) => !clauseHolds(c, satisfiedNames));

  // 2. attestations
  const attestationIds: string[] = [];
  const missingAttestations: AttestationRequirement[] = [];
  for (const req of spec.require.attestations) {
    const hit = attestations.find((e) => {
      if (e.status !== "valid") return false;
      const eligible = authoritiesFor(e, spec, keyFingerprints, ctx.now, []);
      return attestationSatisfies(e, req, eligible, reasons);
    });
    if (hit) attestationIds.push(hit.id);
    else missingAttestations.push(req);
  }

  if (failedClauses.length === 0 && missingAttestations.length === 0) {
    const usedIds = [...new Set([...[...satisfied.values()].flat(), ...attestationIds])];
    const retiring = spec.authorities.filter((a) => a.status === "retiring" && satisfiedNames.has(a.name));
    return {
      value: "verified",
      reasons: [
        { code: "satisfied", message: `satisfied by ${[...satisfiedNames].join(", ") || "attestations"}` },
        ...retiring.map((a) => ({ code: "retiring-authority" as const, message: `relies on retiring authority ${a.name}`, authority: a.name })),
      ],
      satisfiedBy: [...satisfiedNames],
      evidenceIds: usedIds,
    };
  }

  // 3. not satisfied: could we not tell, was nothing there, or did the evidence fail?
  if (ctx.discovery.outcome === "error") {
    return {
      value: "error",
      reasons: [{ code: "discovery-error", message: ctx.discovery.reason }, ...reasons],
      satisfiedBy: [],
      evidenceIds: [],
    };
  }
  const errored = evidence.filter((e) => e.status === "error");
  if (errored.length) {
    return {
      value: "error",
      reasons: [
        ...errored.map((e) => ({ code: "evidence-error" as const, message: `could not check: ${e.reasons.join(", ") || "unknown"}`, evidenceId: e.id })),
        ...reasons,
      ],
      satisfiedBy: [],
      evidenceIds: [],
    };
  }
  if (ctx.discovery.outcome === "none" || evidence.length === 0) {
    return { value: "unsigned", reasons: [{ code: "unsigned", message: "the registry holds no signature or attestation for this digest" }], satisfiedBy: [], evidenceIds: [] };
  }

  const out: Reason[] = [];
  for (const e of evidence) {
    if (e.status !== "invalid") continue;
    const code = PREFERRED_INVALID.find((c) => e.reasons.includes(c)) ?? "evidence-invalid";
    out.push({ code, message: `${e.kind} is invalid: ${e.reasons.join(", ") || "unknown"}`, evidenceId: e.id });
  }
  if (signatures.length === 0 && clauses.length && failedClauses.length) {
    out.push({ code: "no-signatures", message: "no image signature found (only attestations or other artifacts)" });
  }
  for (const c of failedClauses) out.push({ code: "requirement-not-met", message: `signatures: ${describeClause(c)} not satisfied` });
  for (const m of missingAttestations) {
    const present = attestations.filter((e) => e.status === "valid").map((e) => e.predicateType);
    out.push({
      code: "predicate-type",
      message: `no valid attestation of type ${m.predicateType}${present.length ? ` (found: ${[...new Set(present)].join(", ")})` : ""}`,
    });
  }
  return { value: "failed", reasons: dedupe([...out, ...reasons]), satisfiedBy: [...satisfiedNames], evidenceIds: [] };
}

function dedupe(reasons: Reason[]): Reason[] {
  const seen = new Set<string>();
  return reasons.filter((r) => {
    const k = `${r.code}|${r.authority ?? ""}|${r.evidenceId ?? ""}|${r.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** The reason codes of a verdict, for quick assertions and filters. */
export function reasonCodes(v: Verdict): ReasonCode[] {
  return [...new Set(v.reasons.map((r) => r.code))];
}
