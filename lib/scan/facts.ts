import type { EvidenceFact, ProvenanceFact } from "@/lib/policy/facts";
import type { FULCIO_EXTENSION_NAMES } from "@/lib/policy/schema";
import type { FulcioExtensions, VerifiedEvidence } from "@/lib/sigstore/types";

/** The cosign v3 image-signature predicate: a bundle carrying it is a signature, not an attestation. */
export const COSIGN_SIGN_PREDICATE = "https://sigstore.dev/cosign/sign/v1";

const EXTENSION_NAMES: Record<(typeof FULCIO_EXTENSION_NAMES)[number], keyof FulcioExtensions> = {
  buildSignerURI: "buildSignerUri",
  buildSignerDigest: "buildSignerDigest",
  runnerEnvironment: "runnerEnvironment",
  sourceRepositoryURI: "sourceRepositoryUri",
  sourceRepositoryDigest: "sourceRepositoryDigest",
  sourceRepositoryRef: "sourceRepositoryRef",
  sourceRepositoryIdentifier: "sourceRepositoryIdentifier",
  sourceRepositoryOwnerURI: "sourceRepositoryOwnerUri",
  sourceRepositoryOwnerIdentifier: "sourceRepositoryOwnerIdentifier",
  buildConfigURI: "buildConfigUri",
  buildConfigDigest: "buildConfigDigest",
  buildTrigger: "buildTrigger",
  runInvocationURI: "runInvocationUri",
  sourceRepositoryVisibilityAtSigning: "sourceRepositoryVisibilityAtSigning",
  deploymentEnvironment: "deploymentEnvironment",
};

/**
 * Verified evidence (lib/sigstore) → the facts policy evaluation reads (lib/policy). Facts that are
 * only claims (on invalid or error evidence) are carried for diagnostics; evaluation ignores them.
 */
export function toEvidenceFact(e: VerifiedEvidence): EvidenceFact {
  const kind: EvidenceFact["kind"] =
    e.kind === "signature" || (e.kind === "bundle" && e.predicateType === COSIGN_SIGN_PREDICATE) ? "signature" : "attestation";
  let signer: EvidenceFact["signer"] = null;
  if (e.signer?.kind === "key" || e.matchedKeys.length) {
    signer = { kind: "key", fingerprints: [...new Set(e.matchedKeys.map((k) => k.fingerprint))] };
  } else if (e.signer?.kind === "keyless") {
    const extensions: Record<string, string> = {};
    for (const [name, field] of Object.entries(EXTENSION_NAMES)) {
      const value = e.signer.extensions[field];
      if (value) extensions[name] = value;
    }
    signer = { kind: "keyless", identity: e.signer.identity, issuer: e.signer.issuer ?? "", extensions, trustedRoot: e.trustRootId ?? "" };
  }
  const tlogVerified = e.tlog && (e.tlog.verifiedSet || e.tlog.verifiedInclusionProof);
  const ts = e.timestamps.find((t) => t.verified);
  const p = e.provenance;
  const provenance: ProvenanceFact | undefined = p
    ? {
        builderId: p.builderId ?? undefined,
        buildType: p.buildType ?? undefined,
        sourceRepository: p.sourceRepository ?? undefined,
        sourceCommit: p.sourceCommit ?? undefined,
        sourceRef: p.sourceRef ?? undefined,
        entryPoint: p.entryPoint ?? undefined,
        trigger: p.trigger ?? undefined,
      }
    : undefined;
  return {
    id: e.id,
    kind,
    status: e.status,
    reasons: e.reasons.map((r) => r.code),
    signer,
    // an integratedTime is the log's word only under a verified SET; an inclusion proof does not sign it
    tlog: tlogVerified ? { logIndex: e.tlog!.logIndex, integratedTime: e.tlog!.verifiedSet ? new Date(e.tlog!.integratedTimeISO) : null } : null,
    timestamp: ts ? new Date(ts.time) : null,
    predicateType: e.predicateType ?? undefined,
    format: e.kind === "bundle" ? "bundle" : "classic",
    provenance,
  };
}
