import type { Db } from "@/lib/db/client";
import type { DiscoveredArtifact, DiscoveryResult, ImageAt } from "@/lib/evidence/types";
import type { ClusterInventory, ClusterRejections, ImageReference, ListVersions, PullSecretSource } from "@/lib/kube/types";
import type { PublicKeyCandidate, VerifiedEvidence } from "@/lib/sigstore/types";

/**
 * What the scan pipeline needs from the outside world: clusters (lib/kube), registries
 * (lib/registry) and cryptographic verification (lib/sigstore). The worker binds the real ones;
 * the pipeline stays a plain function of its inputs.
 */
export interface ClusterTarget {
  name: string;
}

export interface ScanAdapters {
  listClusters(): Promise<ClusterTarget[]>;
  /**
   * Why the cluster configuration could not be read at the last listClusters (a missing or invalid
   * kubeconfig), or null. A scan of zero clusters fails with it (see startScan).
   */
  configurationProblem?(): string | null;
  inventory(target: ClusterTarget): Promise<ClusterInventory>;
  /**
   * For a cluster this process follows with a watch that writes every change (lib/watch, the
   * worker): brings the stored inventory in step and returns true; the scan then keeps the stored
   * inventory instead of listing the cluster. False: list it.
   */
  followedInStep?(target: ClusterTarget): Promise<boolean>;
  /**
   * Whether the cluster is provably unchanged since the lists of its stored inventory (`since`),
   * without listing it (lib/kube/unchanged.ts); for a process without a pod watch between scans.
   */
  unchangedSince?(target: ClusterTarget, since: ListVersions): Promise<{ unchanged: boolean; why: string }>;
  rejections(target: ClusterTarget): Promise<ClusterRejections>;
  /**
   * True when registry requests may use the pull secrets of the pods running an image
   * (SIGNET_PULL_SECRETS): the pipeline then passes each image's `PullSecretSource`s.
   */
  readsPullSecrets?: boolean;
  /** Resolves a tag to a manifest digest through the registry. */
  resolveDigest(ref: ImageReference, pullSecrets?: readonly PullSecretSource[], scope?: BatchScope): Promise<{ digest: string } | { error: string }>;
  /** A discovery context for one batch of images (see DiscoveryBatch). */
  openDiscoveryBatch(scope?: BatchScope): Promise<DiscoveryBatch>;
  verify(input: { image: ImageAt; artifacts: DiscoveredArtifact[]; keys: PublicKeyCandidate[]; now: Date }): VerifiedEvidence[] | Promise<VerifiedEvidence[]>;
  /** Writes the current verdicts into the clusters as reports (OpenReports), when enabled; after each finished scan. */
  publishReports?(db: Db): Promise<void>;
}

/** What a batch belongs to: pull secrets are read once per scan. */
export interface BatchScope {
  scanId?: string;
}

/**
 * Discovery for the images of one batch, sharing registry round trips (one tag listing per
 * repository, see lib/registry/discovery-session.ts). Short-lived: one batch, then dropped.
 */
export interface DiscoveryBatch {
  /** Never throws: registry failures are `error` outcomes. */
  discover(image: ImageAt, pullSecrets?: readonly PullSecretSource[]): Promise<DiscoveryResult>;
  /**
   * Which of the image's cosign tags (sha256-<hex>.sig / .att / .sbom and the referrers tag) exist
   * now, from one tag listing per repository; undefined when the repository cannot be listed.
   */
  cosignTags(image: ImageAt, pullSecrets?: readonly PullSecretSource[]): Promise<ReadonlySet<string> | undefined>;
  /**
   * The manifest digests the referrers API lists for the image (one request; none at all for the
   * other images of a repository whose registry answered that it has no referrers API); undefined
   * without the API or when the request failed.
   */
  referrerDigests?(image: ImageAt, pullSecrets?: readonly PullSecretSource[]): Promise<ReadonlySet<string> | undefined>;
}
