/**
 * Output of the cryptographic verification layer: one normalized, verified piece of evidence per
 * signature layer, attestation layer or Sigstore bundle found for an image digest. Pure data, JSON
 * serializable (dates are ISO strings), consumed by lib/policy.
 *
 * Contract: a policy may rely on a fact only when `status === "valid"`. On `invalid` / `error`
 * evidence the facts are what the artifact *claims* (kept for diagnostics), never proof.
 */
import type { ArtifactSource, ImageAt } from "@/lib/evidence/types";

/** valid: every check passed · invalid: a check definitively failed · error: could not be evaluated (malformed, unsupported, missing bytes). */
export type EvidenceStatus = "valid" | "invalid" | "error";

/** signature: cosign simple-signing layer · attestation: legacy DSSE layer (.att) · bundle: Sigstore bundle (OCI referrer). */
export type EvidenceKind = "signature" | "attestation" | "bundle";

/** Machine-readable reasons. Any reason makes the evidence non-valid. */
export type ReasonCode =
  /** The signature does not verify with the certificate key, or with any candidate key. */
  | "signature"
  /** Key-based evidence and no candidate key verifies it (or no candidate key was supplied). */
  | "no-matching-key"
  /** simple-signing critical.image.docker-manifest-digest differs from the image digest. */
  | "payload-digest"
  /** simple-signing critical.type or DSSE payloadType is not the expected one. */
  | "payload-type"
  /** sha256 of the layer bytes differs from the layer descriptor digest. */
  | "layer-digest"
  /** Rekor signed entry timestamp (inclusion promise) does not verify against the trusted root. */
  | "tlog-set"
  /** Inclusion proof or signed checkpoint does not verify. */
  | "tlog-inclusion"
  /** The Rekor entry body does not bind this signature / payload hash / key or certificate. */
  | "tlog-body-mismatch"
  /** Any other transparency-log failure (duplicate entries, unknown log). */
  | "tlog"
  /** The certificate does not chain to a certificate authority of the trusted root valid at the signing time. */
  | "cert-chain"
  /** The leaf certificate was not valid at the Rekor integratedTime / RFC 3161 time (or now, if neither exists). */
  | "cert-expired-at-integrated-time"
  /** The leaf certificate lacks the codeSigning extended key usage. */
  | "cert-eku"
  /** The embedded SCT is missing or does not verify against the trusted root's CT logs. */
  | "sct"
  /** An RFC 3161 timestamp does not verify against the trusted root's timestamp authorities. */
  | "timestamp"
  /** No in-toto statement subject has digest.sha256 equal to the image digest. */
  | "dsse-subject"
  /** The statement predicateType differs from the predicateType the artifact annotates. */
  | "predicate-type-mismatch"
  /** Unparseable or out-of-bounds input (see the reason message for which field). */
  | "malformed"
  /** A well-formed but unsupported format (e.g. a message-signature bundle without the signed payload). */
  | "unsupported"
  /** The layer bytes were not fetched (size cap, unsupported blob); see DiscoveredLayer.skipped. */
  | "content-missing"
  /** More evidence than the verifier accepts for one digest. */
  | "limit";

export interface EvidenceReason {
  code: ReasonCode;
  /** Human-readable detail; never contains secrets. */
  message: string;
}

/** Key algorithm of a parsed public key. */
export type KeyAlgorithm = "ecdsa-p256" | "ecdsa-p384" | "ecdsa-p521" | "rsa" | "ed25519";

/** A signer identified by a public key supplied by a policy. */
export interface KeySigner {
  kind: "key";
  /** "sha256:<hex of the SPKI DER>" — identical for the same key however it was written. */
  fingerprint: string;
  algorithm: KeyAlgorithm;
  /** keyId of the (first) candidate key that verified the signature. */
  keyId: string;
  /** Every candidate keyId with this fingerprint (the same key registered under several authorities). */
  keyIds: string[];
  /** Key hint written in a Sigstore bundle (base64 sha256 of the SPKI), if any. Unverified metadata. */
  hint: string | null;
}

/** Fulcio certificate extensions (OID 1.3.6.1.4.1.57264.1.*); null when absent. */
export interface FulcioExtensions {
  /** .1 (raw string, deprecated) */
  issuerV1: string | null;
  /** .8 (DER UTF8String) */
  issuerV2: string | null;
  /** .2–.6 deprecated GitHub raw strings */
  githubWorkflowTrigger: string | null;
  githubWorkflowSha: string | null;
  githubWorkflowName: string | null;
  githubWorkflowRepository: string | null;
  githubWorkflowRef: string | null;
  /** .9–.23 */
  buildSignerUri: string | null;
  buildSignerDigest: string | null;
  runnerEnvironment: string | null;
  sourceRepositoryUri: string | null;
  sourceRepositoryDigest: string | null;
  sourceRepositoryRef: string | null;
  sourceRepositoryIdentifier: string | null;
  sourceRepositoryOwnerUri: string | null;
  sourceRepositoryOwnerIdentifier: string | null;
  buildConfigUri: string | null;
  buildConfigDigest: string | null;
  buildTrigger: string | null;
  runInvocationUri: string | null;
  sourceRepositoryVisibilityAtSigning: string | null;
  deploymentEnvironment: string | null;
}

export type SanType = "email" | "uri" | "othername" | "dns" | "ip";

export interface SubjectAlternativeName {
  type: SanType;
  value: string;
}

/** A signer identified by a (Fulcio) certificate chaining to a trusted root. */
export interface KeylessSigner {
  kind: "keyless";
  /** The certificate identity: the first SAN (Fulcio issues exactly one). */
  identity: string;
  identityType: SanType;
  subjectAlternativeNames: SubjectAlternativeName[];
  /** OIDC issuer: OID .1.8 when present, else .1.1; null if neither. */
  issuer: string | null;
  issuerSource: "1.3.6.1.4.1.57264.1.8" | "1.3.6.1.4.1.57264.1.1" | null;
  certificate: {
    /** Upper-case hex, as openssl prints it. */
    serialNumber: string;
    notBefore: string;
    notAfter: string;
    /** e.g. "O=sigstore.dev, CN=sigstore-intermediate" */
    issuerDN: string;
    subjectDN: string;
    /** "sha256:<hex of the certificate DER>" */
    fingerprint: string;
  };
  extensions: FulcioExtensions;
}

export type EvidenceSigner = KeySigner | KeylessSigner;

/**
 * A transparency-log (Rekor) entry attached to the evidence. logIndex and integratedTime are signed by
 * the SET (verifiedSet); with an inclusion proof alone, only inclusionProof.logIndex / treeSize are
 * authenticated (by the signed checkpoint) and integratedTime is not used as a signing time.
 */
export interface TlogFacts {
  logIndex: number;
  /** Unix seconds. */
  integratedTime: number;
  integratedTimeISO: string;
  /** hex sha256 of the log key's SPKI (the logID) */
  logId: string;
  /** Rekor entry kind / apiVersion, e.g. hashedrekord 0.0.1, dsse 0.0.1 */
  kind: string;
  kindVersion: string;
  /** The signed entry timestamp was present and verified. */
  verifiedSet: boolean;
  /** An inclusion proof + signed checkpoint was present and verified. */
  verifiedInclusionProof: boolean;
  /** Inclusion proof details, when present. */
  inclusionProof: { logIndex: number; treeSize: number } | null;
  /** baseUrl of the trusted-root log whose logID matches, if any. */
  logUrl: string | null;
}

/** An RFC 3161 timestamp attached to the evidence. */
export interface TimestampFacts {
  /** TSA genTime */
  time: string;
  verified: boolean;
}

/** A time at which certificate validity was checked. */
export interface CheckedTime {
  source: "tlog" | "rfc3161" | "now";
  time: string;
}

export interface StatementSubject {
  name: string | null;
  digest: Record<string, string>;
}

/** Header of the in-toto statement carried by attestations and DSSE bundles. */
export interface StatementFacts {
  /** https://in-toto.io/Statement/v0.1 or https://in-toto.io/Statement/v1 */
  type: string;
  predicateType: string;
  /** At most 16 subjects are kept (the one matching the image is what matters). */
  subjects: StatementSubject[];
  /** Annotations of the subject matching the image (cosign sign v3 `-a k=v`), if any. */
  subjectAnnotations: Record<string, unknown> | null;
}

/** Build provenance extracted from SLSA v0.2 / v1 predicates. Values are as written by the builder. */
export interface Provenance {
  slsaVersion: "v0.2" | "v1";
  builderId: string | null;
  buildType: string | null;
  /** v0.2 invocation.configSource.uri; v1 resolvedDependencies[0].uri (git+https://…@ref) */
  sourceRepository: string | null;
  /** v0.2 configSource.digest.sha1/gitCommit; v1 resolvedDependencies[0].digest.gitCommit/sha1 */
  sourceCommit: string | null;
  /** v0.2 environment.github_ref; v1 externalParameters.workflow.ref */
  sourceRef: string | null;
  /** v0.2 configSource.entryPoint; v1 externalParameters.workflow.path */
  entryPoint: string | null;
  /** v1 externalParameters.workflow.repository */
  workflowRepository: string | null;
  /** v0.2 environment.github_event_name; v1 internalParameters.github.event_name */
  trigger: string | null;
  /** v0.2 metadata.buildInvocationID; v1 runDetails.metadata.invocationId */
  invocationId: string | null;
  /** v0.2 environment.github_actor */
  actor: string | null;
  /** At most 16 materials / resolved dependencies. */
  materials: Array<{ uri: string | null; digest: Record<string, string> }>;
}

/** Where the evidence came from. */
export interface EvidenceOrigin {
  source: ArtifactSource;
  tag: string | null;
  manifestDigest: string;
  layerIndex: number;
  layerDigest: string;
  layerMediaType: string;
}

export interface VerifiedEvidence {
  /** Stable identity: `<manifestDigest>#<layerIndex>` */
  id: string;
  kind: EvidenceKind;
  format: "simple-signing" | "dsse" | "sigstore-bundle";
  status: EvidenceStatus;
  /** Empty iff status is valid. */
  reasons: EvidenceReason[];
  image: ImageAt;
  origin: EvidenceOrigin;
  /** Who signed it (see the contract at the top of this file). */
  signer: EvidenceSigner | null;
  /** Every candidate key that verifies the signature (key-based evidence); lets policies count distinct signers. */
  matchedKeys: KeySigner[];
  /** First transparency-log entry, or null when there is none (whether that is acceptable is a policy decision). */
  tlog: TlogFacts | null;
  timestamps: TimestampFacts[];
  /** Times at which the certificate chain was checked (keyless only). */
  checkedAt: CheckedTime[];
  /** Id of the trust root whose material verified the evidence (null when none was needed, e.g. key without tlog). */
  trustRootId: string | null;
  /** simple-signing `optional` (cosign `-a k=v` annotations); null when absent. */
  annotations: Record<string, unknown> | null;
  /** simple-signing critical.identity.docker-reference: informational, never matched (cosign ignores it). */
  dockerReference: string | null;
  statement: StatementFacts | null;
  predicateType: string | null;
  provenance: Provenance | null;
  /** The clock value passed in (ISO). */
  verifiedAt: string;
}

/** A public key supplied by a policy authority. */
export interface PublicKeyCandidate {
  /** Caller-chosen identifier (e.g. the authority id); echoed in KeySigner.keyId. */
  keyId: string;
  /** PEM SubjectPublicKeyInfo ("PUBLIC KEY") or PKCS#1 ("RSA PUBLIC KEY"). */
  pem: string;
}
