/**
 * What discovery hands to verification: every signature / attestation / SBOM / bundle artifact found
 * for one image digest, normalized but NOT verified. Pure data (no I/O); shared by lib/registry
 * (producer) and lib/sigstore (consumer).
 */

/** An image by digest in one repository. `registry` is the host as pods name it (docker.io normalized to index.docker.io). */
export interface ImageAt {
  registry: string;
  repository: string;
  /** "sha256:<64 hex>" of the image manifest or index. */
  digest: string;
}

export type ArtifactKind = "signature" | "attestation" | "sbom" | "bundle" | "other";

/** Where the artifact was found. */
export type ArtifactSource =
  /** cosign tag schema: sha256-<hex>.sig / .att / .sbom in the same repository */
  | "tag"
  /** OCI 1.1 GET /v2/<name>/referrers/<digest> */
  | "referrers-api"
  /** OCI referrers tag schema fallback: the image index at tag sha256-<hex> */
  | "referrers-tag";

export interface DiscoveredLayer {
  digest: string;
  mediaType: string;
  size: number;
  annotations: Record<string, string>;
  /**
   * The blob bytes, digest-verified against `digest`. Present for signature payloads, DSSE envelopes
   * and Sigstore bundles; absent for blobs that were only recorded (SBOM documents, unknown types, or
   * blobs over the configured size cap — then `skipped` says why).
   */
  content?: Buffer;
  skipped?: string;
}

export interface DiscoveredArtifact {
  kind: ArtifactKind;
  source: ArtifactSource;
  /** The tag it was found under (tag / referrers-tag sources). */
  tag?: string;
  manifestDigest: string;
  manifestMediaType: string;
  artifactType?: string;
  /** subject.digest of the artifact manifest, when it has one (referrers). */
  subjectDigest?: string;
  annotations: Record<string, string>;
  layers: DiscoveredLayer[];
}

export type DiscoveryErrorCode =
  | "network"
  | "timeout"
  | "auth"
  | "forbidden-host"
  | "too-large"
  | "bad-response"
  | "digest-mismatch"
  | "rate-limited"
  | "server-error";

export type DiscoveryResult =
  | {
      outcome: "found";
      image: ImageAt;
      artifacts: DiscoveredArtifact[];
      /** Manifest digests of every artifact seen (cache key for rediscovery). */
      manifestDigests: string[];
    }
  | {
      /** The registry answered authoritatively that no artifact exists (404s on every tag, empty referrers). */
      outcome: "none";
      image: ImageAt;
      checked: string[];
    }
  | {
      /** We could not tell. Never counted as "none". */
      outcome: "error";
      image: ImageAt;
      code: DiscoveryErrorCode;
      reason: string;
      /**
       * Artifacts that were fetched before the error. Verification may use them to prove a policy
       * satisfied; it must never conclude "missing" from them (another artifact may be unseen).
       */
      partial: DiscoveredArtifact[];
    };
