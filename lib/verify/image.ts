/**
 * One image reference against a policy file: resolve the tag to a digest, discover (lib/registry),
 * verify every artifact once with the keys of every applicable policy (lib/sigstore), turn the evidence
 * into facts (lib/scan/facts) and evaluate each applicable policy (lib/policy). The same chain the
 * scanner runs, without a database.
 */
import { overallVerdict, type Verdict as OverallVerdict } from "@/lib/coverage/compute";
import type { DiscoveredArtifact, DiscoveryErrorCode, DiscoveryResult, ImageAt } from "@/lib/evidence/types";
import type { CompiledPolicy } from "@/lib/policy/compile";
import { evaluate, type Verdict } from "@/lib/policy/evaluate";
import type { DiscoveryFact } from "@/lib/policy/facts";
import type { RegistryClient } from "@/lib/registry/client";
import { discover } from "@/lib/registry/discover";
import type { DiscoverySession } from "@/lib/registry/discovery-session";
import { RegistryError } from "@/lib/registry/errors";
import { formatImageReference, type ImageReference, type RepositoryRef } from "@/lib/registry/reference";
import { toEvidenceFact } from "@/lib/scan/facts";
import { verifyArtifacts, type TrustRoot, type VerifiedEvidence } from "@/lib/sigstore";
import { appliesToImage, candidateKeys } from "@/lib/verify/policies";

/** What is printed about one piece of evidence: who signed, when (Rekor), what it states. */
export interface EvidenceSummary {
  id: string;
  kind: VerifiedEvidence["kind"];
  format: VerifiedEvidence["format"];
  status: VerifiedEvidence["status"];
  reasons: VerifiedEvidence["reasons"];
  source: string;
  signer:
    | { kind: "key"; fingerprints: string[]; keyIds: string[] }
    | { kind: "keyless"; identity: string; issuer: string | null; trustedRoot: string | null; certificateSerial: string; extensions: Record<string, string> }
    | null;
  rekor: { logIndex: number; integratedTime: string; logUrl: string | null; verifiedSet: boolean; verifiedInclusionProof: boolean } | null;
  timestamps: string[];
  predicateType: string | null;
  provenance: Record<string, string> | null;
}

export interface PolicyResult {
  policy: string;
  mode: CompiledPolicy["spec"]["mode"];
  verdict: Verdict;
}

export interface ImageVerification {
  /** The reference as given, and with its digest. */
  reference: string;
  image: ImageAt;
  discovery: { outcome: DiscoveryResult["outcome"]; artifacts: number; code?: DiscoveryErrorCode | "not-found"; reason?: string };
  evidence: EvidenceSummary[];
  /** One verdict per applicable policy, in file order. */
  policies: PolicyResult[];
  /** Policies of the file whose scope.images do not cover the image. */
  notApplicable: string[];
  /** verified only when every applicable policy is verified; failed > unsigned > error > verified; unmatched when none applies. */
  verdict: OverallVerdict;
}

export function summarizeEvidence(e: VerifiedEvidence): EvidenceSummary {
  let signer: EvidenceSummary["signer"] = null;
  if (e.matchedKeys.length || e.signer?.kind === "key") {
    const keys = e.matchedKeys.length ? e.matchedKeys : e.signer?.kind === "key" ? [e.signer] : [];
    signer = { kind: "key", fingerprints: [...new Set(keys.map((k) => k.fingerprint))], keyIds: [...new Set(keys.flatMap((k) => k.keyIds))] };
  } else if (e.signer?.kind === "keyless") {
    const extensions: Record<string, string> = {};
    for (const [k, v] of Object.entries(e.signer.extensions)) if (v) extensions[k] = v;
    signer = { kind: "keyless", identity: e.signer.identity, issuer: e.signer.issuer, trustedRoot: e.trustRootId, certificateSerial: e.signer.certificate.serialNumber, extensions };
  }
  const provenance: Record<string, string> = {};
  for (const [k, v] of Object.entries(e.provenance ?? {})) if (typeof v === "string") provenance[k] = v;
  return {
    id: e.id,
    kind: e.kind,
    format: e.format,
    status: e.status,
    reasons: e.reasons,
    source: `${e.origin.source}${e.origin.tag ? ` ${e.origin.tag}` : ""}`,
    signer,
    rekor: e.tlog
      ? { logIndex: e.tlog.logIndex, integratedTime: e.tlog.integratedTimeISO, logUrl: e.tlog.logUrl, verifiedSet: e.tlog.verifiedSet, verifiedInclusionProof: e.tlog.verifiedInclusionProof }
      : null,
    timestamps: e.timestamps.filter((t) => t.verified).map((t) => t.time),
    predicateType: e.predicateType,
    provenance: e.provenance ? provenance : null,
  };
}

export interface EvaluateDiscoveredInput {
  image: ImageAt;
  discovery: DiscoveryResult;
  /** Policies to evaluate (already filtered to those that apply). */
  policies: readonly CompiledPolicy[];
  trust: readonly TrustRoot[];
  now: Date;
}

/**
 * Pure: discovered artifacts → verified evidence (once, with the keys of every policy) → one verdict
 * per policy. After a discovery error the partial artifacts may still prove a policy satisfied; they
 * never make a verdict failed or unsigned (evaluate returns error).
 */
export function evaluateDiscovered(input: EvaluateDiscoveredInput): { evidence: VerifiedEvidence[]; policies: PolicyResult[] } {
  const d = input.discovery;
  const artifacts: DiscoveredArtifact[] = d.outcome === "found" ? d.artifacts : d.outcome === "error" ? d.partial : [];
  const evidence = artifacts.length
    ? verifyArtifacts({ image: input.image, artifacts, trust: input.trust, keys: candidateKeys(input.policies), now: input.now })
    : [];
  const facts = evidence.map(toEvidenceFact);
  const discovery: DiscoveryFact = d.outcome === "error" ? { outcome: "error", reason: `${d.code}: ${d.reason}` } : { outcome: d.outcome };
  const policies = input.policies.map((p) => ({
    policy: p.name,
    mode: p.spec.mode,
    verdict: evaluate(p.spec, facts, { discovery, now: input.now }, p.keys),
  }));
  return { evidence, policies };
}

export interface VerifyImageInput {
  client: RegistryClient;
  reference: ImageReference;
  policies: readonly CompiledPolicy[];
  trust: readonly TrustRoot[];
  now?: Date;
  /** Where signatures live when not next to the image (cosign's COSIGN_REPOSITORY). */
  signatureRepository?: RepositoryRef;
  /** Shared by the images of one run (see DiscoverySession). */
  session?: DiscoverySession;
}

/**
 * Resolves, discovers, verifies and evaluates. Never throws for registry failures: an unresolvable
 * tag or an unanswered registry is a discovery error, and every applicable verdict is then `error`
 * unless the evidence fetched before the failure already satisfies the policy.
 */
export async function verifyImage(input: VerifyImageInput): Promise<ImageVerification> {
  const now = input.now ?? new Date();
  const ref = input.reference;
  const given = formatImageReference(ref);
  const imageName = `${ref.registry}/${ref.repository}`;
  const applicable = input.policies.filter((p) => appliesToImage(p, imageName, given));
  const notApplicable = input.policies.filter((p) => !applicable.includes(p)).map((p) => p.name);

  let digest: string;
  try {
    digest = await input.client.resolveDigest(ref);
  } catch (err) {
    if (!(err instanceof RegistryError)) throw err;
    const image: ImageAt = { registry: ref.registry, repository: ref.repository, digest: "" };
    const discovery: DiscoveryResult = { outcome: "error", image, code: err.code === "not-found" ? "bad-response" : err.code, reason: `cannot resolve ${given}: ${err.message}`, partial: [] };
    const result = evaluateDiscovered({ image, discovery, policies: applicable, trust: input.trust, now });
    return finish(given, image, { outcome: "error", artifacts: 0, code: err.code, reason: discovery.reason }, result, notApplicable);
  }
  const image: ImageAt = { registry: ref.registry, repository: ref.repository, digest };
  const discovery = await discover(image, {
    client: input.client,
    ...(input.signatureRepository ? { signatureRepository: input.signatureRepository } : {}),
    ...(input.session ? { session: input.session } : {}),
  });
  const result = evaluateDiscovered({ image, discovery, policies: applicable, trust: input.trust, now });
  const summary: ImageVerification["discovery"] =
    discovery.outcome === "found"
      ? { outcome: "found", artifacts: discovery.artifacts.length }
      : discovery.outcome === "none"
        ? { outcome: "none", artifacts: 0 }
        : { outcome: "error", artifacts: discovery.partial.length, code: discovery.code, reason: discovery.reason };
  return finish(formatImageReference({ ...ref, digest }), image, summary, result, notApplicable);
}

function finish(
  reference: string,
  image: ImageAt,
  discovery: ImageVerification["discovery"],
  result: { evidence: VerifiedEvidence[]; policies: PolicyResult[] },
  notApplicable: string[],
): ImageVerification {
  return {
    reference,
    image,
    discovery,
    evidence: result.evidence.map(summarizeEvidence),
    policies: result.policies,
    notApplicable,
    verdict: overallVerdict(result.policies.map((p) => p.verdict.value)),
  };
}

/** Exit code of `signet verify`: 0 verified, 1 failed / unsigned / no policy applies, 2 error. */
export function exitCodeOf(verdict: OverallVerdict): number {
  return verdict === "verified" ? 0 : verdict === "error" ? 2 : 1;
}
