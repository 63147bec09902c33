import type { EvidenceFact, ProvenanceFact } from "@/lib/policy/facts";
import { COSIGN_SIGN_PREDICATE } from "@/lib/scan/facts";

/**
 * Stored Evidence rows → the facts policy evaluation reads, without re-verifying anything: what the
 * last verification established (status, signer, log entry) is taken as it was recorded. Used for
 * previews (blast radius, usage, re-sign lists) that must not touch the network or write.
 */
export interface StoredEvidenceRow {
  id: string;
  kind: string;
  artifactDigest: string;
  layerDigest: string;
  status: string;
  statusReason: string | null;
  signerKind: string | null;
  keyFingerprint: string | null;
  certIdentity: string | null;
  certIssuer: string | null;
  certExtensions: unknown;
  certNotAfter: Date | null;
  tlogLogIndex: bigint | number | null;
  tlogIntegratedTime: Date | null;
  predicateType: string | null;
  provenance: unknown;
  /** Position of the layer in the artifact (names the fact). */
  layerIndex: number;
}

/** The key of a fact as verification names it, "<manifest digest>#<layer index>" (Verdict.evidenceIds hold these). */
export function factId(r: Pick<StoredEvidenceRow, "artifactDigest" | "layerIndex">): string {
  return `${r.artifactDigest}#${r.layerIndex}`;
}

/** "sha256:<hex>" whatever the stored form ("<hex>" or "sha256:<hex>"). */
export function normalizeFingerprint(fp: string): string {
  const hex = fp.trim().toLowerCase().replace(/^sha256:/, "");
  return `sha256:${hex}`;
}

const EXT_FIELDS: Record<string, string> = {
  buildSignerUri: "buildSignerURI",
  buildSignerDigest: "buildSignerDigest",
  runnerEnvironment: "runnerEnvironment",
  sourceRepositoryUri: "sourceRepositoryURI",
  sourceRepositoryDigest: "sourceRepositoryDigest",
  sourceRepositoryRef: "sourceRepositoryRef",
  sourceRepositoryIdentifier: "sourceRepositoryIdentifier",
  sourceRepositoryOwnerUri: "sourceRepositoryOwnerURI",
  sourceRepositoryOwnerIdentifier: "sourceRepositoryOwnerIdentifier",
  buildConfigUri: "buildConfigURI",
  buildConfigDigest: "buildConfigDigest",
  buildTrigger: "buildTrigger",
  runInvocationUri: "runInvocationURI",
  sourceRepositoryVisibilityAtSigning: "sourceRepositoryVisibilityAtSigning",
  deploymentEnvironment: "deploymentEnvironment",
};

/**
 * `trustedRoot` is not stored on evidence; verification only accepted a certificate chaining to a
 * configured root, so the fact carries `trustedRoot` as given by the caller (the policy's root).
 */
export function storedFact(r: StoredEvidenceRow, trustedRoot = "*"): EvidenceFact | null {
  if (r.status !== "valid" && r.status !== "invalid" && r.status !== "error") return null;
  if (r.kind !== "signature" && r.kind !== "attestation" && r.kind !== "bundle") return null;
  const kind: EvidenceFact["kind"] = r.kind === "signature" || (r.kind === "bundle" && r.predicateType === COSIGN_SIGN_PREDICATE) ? "signature" : "attestation";
  let signer: EvidenceFact["signer"] = null;
  if (r.keyFingerprint) signer = { kind: "key", fingerprints: [normalizeFingerprint(r.keyFingerprint)] };
  else if (r.signerKind === "keyless" && r.certIdentity) {
    const extensions: Record<string, string> = {};
    const raw = (r.certExtensions ?? {}) as Record<string, unknown>;
    for (const [field, name] of Object.entries(EXT_FIELDS)) {
      const v = raw[field];
      if (typeof v === "string" && v) extensions[name] = v;
    }
    signer = { kind: "keyless", identity: r.certIdentity, issuer: r.certIssuer ?? "", extensions, trustedRoot };
  }
  const p = (r.provenance ?? null) as Record<string, unknown> | null;
  const str = (v: unknown) => (typeof v === "string" ? v : undefined);
  const provenance: ProvenanceFact | undefined = p
    ? {
        builderId: str(p.builderId),
        buildType: str(p.buildType),
        sourceRepository: str(p.sourceRepository),
        sourceCommit: str(p.sourceCommit),
        sourceRef: str(p.sourceRef),
        entryPoint: str(p.entryPoint),
        trigger: str(p.trigger),
      }
    : undefined;
  return {
    id: factId(r),
    kind,
    format: r.kind === "bundle" ? "bundle" : "classic",
    status: r.status,
    reasons: (r.statusReason ?? "")
      .split("; ")
      .map((s) => s.split(":")[0]!.trim())
      .filter(Boolean),
    signer,
    // an entry is present when its index is; its time is stored only when a verified SET signed it
    tlog: r.tlogLogIndex !== null ? { logIndex: Number(r.tlogLogIndex), integratedTime: r.tlogIntegratedTime } : null,
    timestamp: null,
    predicateType: r.predicateType ?? undefined,
    provenance,
  };
}
