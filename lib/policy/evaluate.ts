import type { CompiledKey } from "@/lib/policy/compile";
import type { DiscoveryFact, EvidenceFact, SignerFact } from "@/lib/policy/facts";
import { policyRegexMatches } from "@/lib/policy/regex";
import type { AttestationRequirement, Condition, PolicyAuthority, PolicySpec, SignatureClause } from "@/lib/policy/schema";

/**
 * Policy evaluation, pure: `evaluate(policy, evidence, context) → verdict` with machine-readable reasons.
 *
 * Rules that protect against a wrong "verified":
 * - only evidence with status `valid` can satisfy a requirement;
 * - a revoked authority, or one outside its validity window at signing time, satisfies nothing;
 * - a vote is a distinct signer (a key, or a certificate identity under its trusted root), matched
 *   one-to-one to a distinct authority: one signer never satisfies two authorities of one clause;
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
  | "unsigned"
  | "static-fail"
  | "discovery-error"
  | "digest-unresolved"
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
  /** Fingerprints of the keys whose signatures counted (verified verdicts; not stored: usage of one key of an authority with several). */
  keys?: string[];
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

/** The time a signature is known to have existed: transparency log (SET-signed), then RFC 3161, else unknown. */
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
  /** When ok and the authority is a key authority: its keys the signature verified with. */
  keys?: CompiledKey[];
  /** When not ok: the most specific reason this evidence does not belong to the authority. */
  reason?: ReasonCode;
  detail?: string;
}

/**
 * Does valid evidence belong to an authority? Key: one of the authority's key fingerprints (`keys:`
 * lists several: either one). Keyless: some identity's issuer and subject, all extension constraints,
 * the same trusted root.
 */
function signerMatchesAuthority(signer: SignerFact | null, authority: PolicyAuthority, authorityKeys: readonly CompiledKey[]): Match {
  if (!signer) return { ok: false, reason: "no-matching-key" };
  if (authority.static) return { ok: false, reason: "no-matching-key", detail: "a static authority trusts no signer" };
  if (!authority.keyless) {
    if (signer.kind !== "key") return { ok: false, reason: "no-matching-key", detail: "signed with a certificate, authority is a key" };
    const keys = authorityKeys.filter((k) => signer.fingerprints.includes(k.fingerprint));
    if (keys.length) return { ok: true, keys };
    return { ok: false, reason: "no-matching-key", detail: "signature does not verify with this authority's key" };
  }
  const keyless = authority.keyless;
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

/** A clause as "at least `need` distinct authorities of `names`, each by its own signer". */
function clauseNeed(c: SignatureClause): { names: string[]; need: number } {
  if ("anyOf" in c) return { names: [...new Set(c.anyOf)], need: 1 };
  if ("allOf" in c) {
    const names = [...new Set(c.allOf)];
    return { names, need: names.length };
  }
  return { names: [...new Set(c.of)], need: c.atLeast };
}

function describeClause(c: SignatureClause): string {
  if ("anyOf" in c) return `any of [${c.anyOf.join(", ")}]`;
  if ("allOf" in c) return `all of [${c.allOf.join(", ")}]`;
  return `at least ${c.atLeast} of [${c.of.join(", ")}]`;
}

/**
 * A maximum bipartite matching (augmenting paths; the sides are a policy's few authorities or
 * requirements and an image's few signers): left → right, each right used at most once.
 */
export function maximumMatching<L, R>(left: readonly L[], edges: (l: L) => Iterable<R>): Map<L, R> {
  const owner = new Map<R, L>();
  const augment = (l: L, seen: Set<R>): boolean => {
    for (const r of edges(l)) {
      if (seen.has(r)) continue;
      seen.add(r);
      const o = owner.get(r);
      if (o === undefined || augment(o, seen)) {
        owner.set(r, l);
        return true;
      }
    }
    return false;
  };
  for (const l of left) augment(l, new Set());
  return new Map([...owner].map(([r, l]) => [l, r]));
}

/**
 * Who signed: a key (by its identity, whatever its encoding) or a certificate identity (trusted root +
 * issuer + subject — several certificates of one identity are one signer). Evidence that verified with
 * several keys joins them into one signer, so nothing one signature proves is counted twice.
 */
class Signers {
  private parent = new Map<string, string>();
  constructor(private readonly identityOf: Map<string, string>) {}
  private find(x: string): string {
    let r = x;
    while (this.parent.has(r) && this.parent.get(r) !== r) r = this.parent.get(r)!;
    if (!this.parent.has(r)) this.parent.set(r, r);
    return r;
  }
  private atoms(s: SignerFact): string[] {
    if (s.kind === "key") return [...new Set(s.fingerprints.map((fp) => this.identityOf.get(fp) ?? `fingerprint:${fp}`))];
    return [`certificate:${s.trustedRoot}\n${s.issuer}\n${s.identity}`];
  }
  add(s: SignerFact | null): void {
    if (!s) return;
    const [first, ...rest] = this.atoms(s).map((a) => this.find(a));
    for (const r of rest) if (r !== first) this.parent.set(r, first!);
  }
  /** The signer of evidence (call after every `add`). */
  of(s: SignerFact | null): string | null {
    if (!s) return null;
    return this.find(this.atoms(s)[0]!);
  }
}

/** Why a signer that matches an authority still does not count for it (status, log entry, validity). */
const EXCLUSIONS = new Set<ReasonCode>(["revoked", "tlog-missing", "outside-validity"]);

/** An authority a piece of evidence satisfies: through which keys, and whether only through retiring ones. */
interface Satisfies {
  authority: string;
  retiring: boolean;
  fingerprints: string[];
}

/**
 * Which authorities a piece of valid evidence satisfies, and why it does not satisfy the others.
 * Authority (and key) status and validity windows apply here.
 */
function authoritiesFor(e: EvidenceFact, spec: PolicySpec, keysByAuthority: Map<string, CompiledKey[]>, now: Date, reasons: Reason[]): Satisfies[] {
  const out: Satisfies[] = [];
  for (const a of spec.authorities) {
    const m = signerMatchesAuthority(e.signer, a, keysByAuthority.get(a.name) ?? []);
    if (!m.ok) {
      reasons.push({ code: m.reason ?? "no-matching-key", message: m.detail ?? "does not match", authority: a.name, evidenceId: e.id });
      continue;
    }
    if (a.signatureFormat && e.format && e.format !== a.signatureFormat) {
      reasons.push({ code: "no-matching-key", message: `a ${e.format === "bundle" ? "Sigstore bundle" : "classic cosign layer"}; authority ${a.name} reads only ${a.signatureFormat} signatures`, authority: a.name, evidenceId: e.id });
      continue;
    }
    // a key authority's own status and window are folded into each of its keys at compilation
    const usable = m.keys ? m.keys.filter((k) => k.status !== "revoked") : a.status !== "revoked" ? [null] : [];
    if (usable.length === 0) {
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
    const inWindow = usable.filter((k) => {
      const from = k ? k.validFrom : a.validFrom;
      const until = k ? k.validUntil : a.validUntil;
      return !((from && at < from) || (until && at > until));
    });
    if (inWindow.length === 0) {
      reasons.push({
        code: "outside-validity",
        message: `signed at ${at.toISOString()}, outside the validity of ${a.name}`,
        authority: a.name,
        evidenceId: e.id,
      });
      continue;
    }
    out.push({
      authority: a.name,
      retiring: inWindow.every((k) => (k ? k.status : a.status) === "retiring"),
      fingerprints: inWindow.flatMap((k) => (k ? [k.fingerprint] : [])),
    });
  }
  return out;
}

function conditionsHold(e: EvidenceFact, req: AttestationRequirement, reasons: Reason[]): boolean {
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

/** A compiled policy's keys by authority and fingerprint → key identity, built once per key list (the hot path evaluates one policy for many images). */
const keyIndexes = new WeakMap<readonly CompiledKey[], { keysByAuthority: Map<string, CompiledKey[]>; identityOf: Map<string, string> }>();
function keyIndex(keys: readonly CompiledKey[]) {
  let index = keyIndexes.get(keys);
  if (!index) {
    index = { keysByAuthority: new Map(), identityOf: new Map() };
    for (const k of keys) {
      index.keysByAuthority.set(k.authority, [...(index.keysByAuthority.get(k.authority) ?? []), k]);
      index.identityOf.set(k.fingerprint, k.identity);
    }
    keyIndexes.set(keys, index);
  }
  return index;
}

/** One valid piece of evidence with its signer and the authorities it counts for. */
interface Counted {
  e: EvidenceFact;
  signer: string;
  satisfies: Satisfies[];
  authorities: string[];
  /** Reasons it does not count for the other authorities. */
  rejected: Reason[];
}

/**
 * Evaluates one policy for one image's evidence. `keys` are the compiled policy's keys (fingerprints
 * computed once by the caller, which owns PEM parsing).
 *
 * Votes are signers, not signatures: a signature clause holds only when enough of its authorities
 * are matched one-to-one to distinct signers (a maximum bipartite matching), so one key under two
 * names, two certificates of one identity, or one certificate matching two overlapping identity
 * patterns is one vote. Attestation requirements of one predicate type that name different signers
 * (`signedBy`) are likewise met by distinct signers.
 */
export function evaluate(spec: PolicySpec, evidence: readonly EvidenceFact[], ctx: EvaluationContext, keys: readonly CompiledKey[]): Verdict {
  const reasons: Reason[] = [];
  const { keysByAuthority, identityOf } = keyIndex(keys);
  const signatures = evidence.filter((e) => e.kind === "signature");
  const attestations = evidence.filter((e) => e.kind === "attestation");

  const signers = new Signers(identityOf);
  const valid = evidence.filter((e) => e.status === "valid");
  for (const e of valid) signers.add(e.signer);
  const counted = new Map<EvidenceFact, Counted>();
  for (const e of valid) {
    const rejected: Reason[] = [];
    const satisfies = authoritiesFor(e, spec, keysByAuthority, ctx.now, rejected);
    counted.set(e, { e, signer: signers.of(e.signer) ?? `evidence:${e.id}`, satisfies, authorities: satisfies.map((s) => s.authority), rejected });
  }

  // 1. signatures: authority → the signers (and their evidence) that satisfy it
  const attestationAuthorities = new Set(spec.authorities.filter((a) => a.attestations !== undefined).map((a) => a.name));
  const bySignature = new Map<string, Map<string, { ids: string[]; retiring: boolean; keys: string[] }>>();
  for (const e of signatures) {
    const c = counted.get(e);
    if (!c) continue;
    reasons.push(...c.rejected);
    for (const s of c.satisfies) {
      if (attestationAuthorities.has(s.authority)) continue; // satisfied by its attestations only (below)
      const m = bySignature.get(s.authority) ?? new Map<string, { ids: string[]; retiring: boolean; keys: string[] }>();
      const prev = m.get(c.signer);
      m.set(c.signer, { ids: [...(prev?.ids ?? []), e.id], retiring: (prev?.retiring ?? true) && s.retiring, keys: [...(prev?.keys ?? []), ...s.fingerprints] });
      bySignature.set(s.authority, m);
    }
  }
  // policy-controller's authorities without an image signature: `static: pass` is satisfied with no
  // signer (a vote of its own), `static: fail` never; an attestation authority by ONE signer whose
  // valid attestations cover each of its predicate types (a single party, so it is one vote)
  for (const a of spec.authorities) {
    if (a.static) {
      if (a.static.action === "pass") bySignature.set(a.name, new Map([[`static:${a.name}`, { ids: [], retiring: a.status === "retiring", keys: [] }]]));
      else reasons.push({ code: "static-fail", message: `authority ${a.name} is static fail${a.static.message ? `: ${a.static.message}` : ""}`, authority: a.name });
      continue;
    }
    if (!a.attestations) continue;
    const bySigner = new Map<string, { ids: Map<string, string>; retiring: boolean; keys: string[] }>();
    for (const e of attestations) {
      const c = counted.get(e);
      const s = c?.satisfies.find((x) => x.authority === a.name);
      if (!c || !s || !a.attestations.some((t) => t.predicateType === e.predicateType)) continue;
      const entry = bySigner.get(c.signer) ?? { ids: new Map<string, string>(), retiring: true, keys: [] };
      if (!entry.ids.has(e.predicateType!)) entry.ids.set(e.predicateType!, e.id);
      entry.retiring &&= s.retiring;
      entry.keys.push(...s.fingerprints);
      bySigner.set(c.signer, entry);
    }
    const full = new Map<string, { ids: string[]; retiring: boolean; keys: string[] }>();
    for (const [signer, x] of bySigner) if (a.attestations.every((t) => x.ids.has(t.predicateType))) full.set(signer, { ids: [...x.ids.values()], retiring: x.retiring, keys: x.keys });
    if (full.size) bySignature.set(a.name, full);
    else {
      const missing = a.attestations.filter((t) => ![...bySigner.values()].some((x) => x.ids.has(t.predicateType))).map((t) => t.predicateType);
      reasons.push({
        code: "predicate-type",
        message: missing.length
          ? `authority ${a.name}: no valid attestation of type ${missing.join(", ")} signed by it`
          : `authority ${a.name}: no one signer of it attested every type (${a.attestations.map((t) => t.predicateType).join(", ")})`,
        authority: a.name,
      });
    }
  }
  const satisfiedNames = new Set(bySignature.keys());
  const clauses = clausesOf(spec);
  const failedClauses: { clause: SignatureClause; matched: number; signed: string[] }[] = [];
  const counting = new Set<string>();
  const usedIds = new Set<string>();
  const usedKeys = new Set<string>();
  for (const clause of clauses) {
    const { names, need } = clauseNeed(clause);
    const matching = maximumMatching(names, (n) => bySignature.get(n)?.keys() ?? []);
    if (matching.size >= need) {
      for (const [a, signer] of matching) {
        counting.add(a);
        const used = bySignature.get(a)!.get(signer)!;
        for (const id of used.ids) usedIds.add(id);
        for (const k of used.keys) usedKeys.add(k);
      }
    } else {
      failedClauses.push({ clause, matched: matching.size, signed: names.filter((n) => satisfiedNames.has(n)) });
    }
  }

  // 2. attestations: requirements of one predicate type naming the same signers form a group (one
  // party attesting several conditions); the groups of a type are matched to distinct signers
  const missingAttestations: AttestationRequirement[] = [];
  const byType = new Map<string, Map<string, AttestationRequirement[]>>();
  for (const req of spec.require.attestations) {
    const groups = byType.get(req.predicateType) ?? new Map<string, AttestationRequirement[]>();
    const key = req.signedBy ? [...new Set(req.signedBy)].sort().join(",") : "*";
    groups.set(key, [...(groups.get(key) ?? []), req]);
    byType.set(req.predicateType, groups);
  }
  for (const [predicateType, groups] of byType) {
    const candidates = attestations.filter((e) => e.predicateType === predicateType && counted.has(e));
    // group → signer → the attestations that meet each of its requirements
    const edges = new Map<AttestationRequirement[], Map<string, string[]>>();
    for (const group of groups.values()) {
      const perSigner = new Map<string, Map<AttestationRequirement, string>>();
      for (const req of group) {
        for (const e of candidates) {
          const c = counted.get(e)!;
          const allowed = req.signedBy ? c.authorities.filter((a) => req.signedBy!.includes(a)) : c.authorities;
          if (allowed.length === 0) {
            if (req.signedBy) {
              const why = c.rejected.filter((r) => r.authority !== undefined && req.signedBy!.includes(r.authority) && EXCLUSIONS.has(r.code));
              if (why.length) reasons.push(...why.map((r) => ({ ...r, message: `attestation ${predicateType}: ${r.message}` })));
              else reasons.push({ code: "no-matching-key", message: `attestation ${predicateType} not signed by ${req.signedBy.join(" or ")}`, evidenceId: e.id });
            } else {
              reasons.push(...c.rejected.filter((r) => EXCLUSIONS.has(r.code)).map((r) => ({ ...r, message: `attestation ${predicateType}: ${r.message}` })));
            }
            continue;
          }
          if (!conditionsHold(e, req, reasons)) continue;
          const m = perSigner.get(c.signer) ?? new Map<AttestationRequirement, string>();
          if (!m.has(req)) m.set(req, e.id);
          perSigner.set(c.signer, m);
        }
      }
      const full = new Map<string, string[]>();
      for (const [signer, m] of perSigner) if (m.size === group.length) full.set(signer, [...m.values()]);
      edges.set(group, full);
    }
    const list = [...groups.values()];
    const matching = maximumMatching(list, (g) => edges.get(g)!.keys());
    for (const g of list) {
      const signer = matching.get(g);
      if (signer === undefined) missingAttestations.push(...g);
      else for (const id of edges.get(g)!.get(signer)!) usedIds.add(id);
    }
  }

  if (failedClauses.length === 0 && missingAttestations.length === 0) {
    // relying on a retiring authority (or key): every signature that satisfies it is through one
    const retiringUsed = spec.authorities.filter((a) => counting.has(a.name) && [...bySignature.get(a.name)!.values()].every((x) => x.retiring));
    return {
      value: "verified",
      reasons: [
        { code: "satisfied", message: `satisfied by ${[...counting].join(", ") || "attestations"}` },
        ...retiringUsed.map((a) => ({ code: "retiring-authority" as const, message: `relies on retiring authority ${a.name}`, authority: a.name })),
      ],
      satisfiedBy: [...counting],
      evidenceIds: [...usedIds],
      keys: [...usedKeys],
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
  for (const f of failedClauses) {
    const shared = f.signed.length > f.matched ? ` (${f.signed.join(", ")} signed by only ${f.matched} distinct signer${f.matched === 1 ? "" : "s"}: one signer counts once)` : "";
    out.push({ code: "requirement-not-met", message: `signatures: ${describeClause(f.clause)} not satisfied${shared}` });
  }
  for (const m of missingAttestations) {
    const present = attestations.filter((e) => e.status === "valid").map((e) => e.predicateType);
    out.push({
      code: "predicate-type",
      message: `no valid attestation of type ${m.predicateType}${m.signedBy ? ` signed by ${m.signedBy.join(" or ")}` : ""}${present.length ? ` (found: ${[...new Set(present)].join(", ")})` : ""}`,
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
