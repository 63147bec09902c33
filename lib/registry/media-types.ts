/** Media types of the OCI image spec, the Docker v2 formats and the cosign / Sigstore artifacts. */
export const MEDIA = {
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  ociEmpty: "application/vnd.oci.empty.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  cosignSimpleSigning: "application/vnd.dev.cosign.simplesigning.v1+json",
  dsseEnvelope: "application/vnd.dsse.envelope.v1+json",
  inTotoJson: "application/vnd.in-toto+json",
  /** Prefix of every Sigstore bundle media type (v0.1–v0.3 spellings). */
  sigstoreBundlePrefix: "application/vnd.dev.sigstore.bundle",
} as const;

/** Every manifest type we accept, most preferred first (the Accept header of manifest requests). */
export const MANIFEST_MEDIA_TYPES = [MEDIA.ociManifest, MEDIA.ociIndex, MEDIA.dockerManifest, MEDIA.dockerManifestList] as const;

export const INDEX_MEDIA_TYPES = new Set<string>([MEDIA.ociIndex, MEDIA.dockerManifestList]);
export const IMAGE_MANIFEST_MEDIA_TYPES = new Set<string>([MEDIA.ociManifest, MEDIA.dockerManifest]);

const SBOM_MEDIA_TYPES = [
  "application/spdx+json",
  "text/spdx",
  "application/vnd.cyclonedx",
  "application/vnd.cyclonedx+json",
  "application/vnd.cyclonedx+xml",
  "application/vnd.syft+json",
  "application/vnd.dev.cosign.artifact.sbom.v1+json",
  "application/vnd.spdx",
];

/** Strips parameters ("; charset=utf-8") and lower-cases a media type. */
export function baseMediaType(mediaType: string): string {
  return mediaType.split(";")[0]!.trim().toLowerCase();
}

export function isSigstoreBundle(mediaType: string): boolean {
  return mediaType.toLowerCase().startsWith(MEDIA.sigstoreBundlePrefix);
}

export function isSbomMediaType(mediaType: string): boolean {
  const base = baseMediaType(mediaType);
  return SBOM_MEDIA_TYPES.some((t) => base === t || base.startsWith(`${t}+`) || base.startsWith(`${t}.`));
}

export function isDsseMediaType(mediaType: string): boolean {
  const base = baseMediaType(mediaType);
  return base === MEDIA.dsseEnvelope || base === MEDIA.inTotoJson || base.startsWith("application/vnd.in-toto.");
}
