/**
 * What policy evaluation knows about one piece of evidence: the facts cryptographic verification
 * (lib/sigstore) established, independent of any policy. Pure data.
 */

export type EvidenceStatus = "valid" | "invalid" | "error";

export type SignerFact =
  | {
      kind: "key";
      /** "sha256:<hex>" of the SPKI DER of every candidate key the signature verified with. */
      fingerprints: string[];
    }
  | {
      kind: "keyless";
      /** Certificate SAN (email, URI or otherName). */
      identity: string;
      /** OIDC issuer (Fulcio OID 1.3.6.1.4.1.57264.1.8, else .1.1). */
      issuer: string;
      /** Fulcio extensions by camelCase name (sourceRepositoryURI, buildSignerURI, …). */
      extensions: Record<string, string>;
      /** Name of the trusted root the certificate chained to. */
      trustedRoot: string;
    };

export interface ProvenanceFact {
  builderId?: string;
  buildType?: string;
  sourceRepository?: string;
  sourceCommit?: string;
  sourceRef?: string;
  entryPoint?: string;
  trigger?: string;
}

export interface EvidenceFact {
  /** Stable id (e.g. "<artifact manifest digest>/<layer digest>"). */
  id: string;
  /** `signature`: an image signature (classic simple-signing, or a bundle whose predicate is cosign/sign/v1). */
  kind: "signature" | "attestation";
  status: EvidenceStatus;
  /** Why the evidence is invalid or could not be checked (codes such as signature, payload-digest, tlog-set, dsse-subject, malformed). */
  reasons: string[];
  signer: SignerFact | null;
  /**
   * Transparency-log entry verified (SET and/or inclusion proof), or null when none is attached.
   * `integratedTime` only when a verified SET signs it: with an inclusion proof alone it is whatever
   * the bundle's writer put there (the log signs the tree, not the time), so it is null.
   */
  tlog: { logIndex: number; integratedTime: Date | null } | null;
  /** A verified RFC 3161 timestamp, when present. */
  timestamp?: Date | null;
  predicateType?: string;
  /** `classic`: a cosign .sig / .att layer (tag schema); `bundle`: a Sigstore bundle (OCI referrer). */
  format?: "classic" | "bundle";
  provenance?: ProvenanceFact;
}

/** The outcome of discovery for the image, as evaluation needs it. */
export type DiscoveryFact =
  | { outcome: "found" }
  | { outcome: "none" }
  | { outcome: "error"; reason: string };
