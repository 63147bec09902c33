import type { DiscoveredArtifact, DiscoveryResult, ImageAt } from "@/lib/evidence/types";
import type { ClusterInventory, ClusterRejections, ImageReference } from "@/lib/kube/types";
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
  inventory(target: ClusterTarget): Promise<ClusterInventory>;
  rejections(target: ClusterTarget): Promise<ClusterRejections>;
  /** Resolves a tag to a manifest digest through the registry. */
  resolveDigest(ref: ImageReference): Promise<{ digest: string } | { error: string }>;
  discover(image: ImageAt): Promise<DiscoveryResult>;
  verify(input: { image: ImageAt; artifacts: DiscoveredArtifact[]; keys: PublicKeyCandidate[]; now: Date }): VerifiedEvidence[] | Promise<VerifiedEvidence[]>;
}
