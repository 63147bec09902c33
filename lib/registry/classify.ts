/**
 * What kind of evidence an artifact manifest holds, and which of its layers discovery downloads (pure).
 * Referrers are classified by their layers' media types and artifactType, never filtered on the
 * artifactType of the index entry: cosign writes `application/vnd.oci.empty.v1+json` there.
 */
import type { ArtifactKind } from "@/lib/evidence/types";
import type { Descriptor, ImageManifest } from "@/lib/registry/manifest";
import { MEDIA, baseMediaType, isDsseMediaType, isSbomMediaType, isSigstoreBundle } from "@/lib/registry/media-types";

export function classifyReferrer(manifest: ImageManifest, entry?: Descriptor): ArtifactKind {
  const types = [
    ...manifest.layers.map((l) => l.mediaType),
    manifest.artifactType,
    manifest.config.mediaType,
    entry?.artifactType,
  ].filter((t): t is string => typeof t === "string" && t.length > 0);
  if (types.some(isSigstoreBundle)) return "bundle";
  if (types.some((t) => baseMediaType(t) === MEDIA.cosignSimpleSigning)) return "signature";
  if (types.some(isDsseMediaType)) return "attestation";
  if (types.some(isSbomMediaType)) return "sbom";
  return "other";
}

/**
 * Whether a layer's bytes are fetched. Tag artifacts (.sig / .att): every layer is one signature or
 * envelope. Referrers: only the layers that carry the evidence. SBOMs and unknown types are recorded.
 */
export function shouldFetchLayer(kind: ArtifactKind, source: "tag" | "referrer", layer: Descriptor): boolean {
  if (kind === "sbom" || kind === "other") return false;
  if (source === "tag") return true;
  if (kind === "bundle") return isSigstoreBundle(layer.mediaType);
  if (kind === "signature") return baseMediaType(layer.mediaType) === MEDIA.cosignSimpleSigning;
  return isDsseMediaType(layer.mediaType);
}

/** The artifactType of an OCI 1.1 artifact manifest: its own field, else a non-empty config type. */
export function artifactTypeOf(manifest: ImageManifest, entry?: Descriptor): string | undefined {
  if (manifest.artifactType) return manifest.artifactType;
  const config = baseMediaType(manifest.config.mediaType);
  if (config !== MEDIA.ociEmpty && config !== MEDIA.ociConfig && config !== "application/vnd.docker.container.image.v1+json") return manifest.config.mediaType;
  return entry?.artifactType;
}
