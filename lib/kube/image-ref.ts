// Image references and runtime image IDs (pure).
import type { DigestOrigin, DigestSource, ImageReference } from "@/lib/kube/types";
import { isDigest } from "@/lib/registry/digest";
import { tryParseImageReference } from "@/lib/registry/reference";

export { isDigest };

/**
 * Parses an image reference as written in a pod spec, with lib/registry's grammar and normalization
 * (so inventory and discovery key images identically): Docker Hub short names are expanded the way
 * runtimes do — `nginx` → index.docker.io/library/nginx:latest, `docker.io/user/app` →
 * index.docker.io/user/app. Returns null for something that is not a reference.
 */
export function parseImageReference(ref: string): ImageReference | null {
  const parsed = tryParseImageReference(ref.trim());
  if (!parsed) return null;
  return {
    registry: parsed.registry,
    repository: parsed.repository,
    tag: parsed.tag ?? null,
    digest: parsed.digest ?? null,
    name: `${parsed.registry}/${parsed.repository}`,
  };
}

/** What a runtime's status imageID says. */
export interface ParsedImageId {
  /**
   * `repo-digest`: `[docker-pullable://]repo@sha256:…` — the manifest digest the image was pulled by.
   * `image-id`: `[docker://]sha256:…` — the local image (config) ID, not a registry manifest digest.
   * `empty`: nothing written yet (container waiting / image pulling).
   */
  kind: "repo-digest" | "image-id" | "empty" | "unrecognized";
  digest: string | null;
  /** `registry/repository` the runtime reports, normalized like image references. */
  repository: string | null;
}

const SCHEMES = ["docker-pullable://", "docker://", "containerd://", "cri-o://"];

/**
 * Normalizes `status.containerStatuses[].imageID` across runtimes:
 * dockershim / cri-dockerd write `docker-pullable://repo@sha256:…` (pulled from a registry) or
 * `docker://sha256:…` (a local image ID); containerd and CRI-O write `repo@sha256:…`, or a bare
 * `sha256:…` for an image that has no repo digest (built or loaded locally).
 */
export function parseImageId(imageID: string | null | undefined): ParsedImageId {
  let v = (imageID ?? "").trim();
  if (!v) return { kind: "empty", digest: null, repository: null };
  for (const scheme of SCHEMES) {
    if (v.startsWith(scheme)) {
      v = v.slice(scheme.length);
      break;
    }
  }
  if (isDigest(v)) return { kind: "image-id", digest: null, repository: null };
  const at = v.lastIndexOf("@");
  if (at > 0) {
    const digest = v.slice(at + 1);
    if (!isDigest(digest)) return { kind: "unrecognized", digest: null, repository: null };
    const parsed = parseImageReference(v);
    return { kind: "repo-digest", digest, repository: parsed?.name ?? v.slice(0, at) };
  }
  return { kind: "unrecognized", digest: null, repository: null };
}

/** The digest decision for one container. */
export interface ContainerDigest {
  digest: string | null;
  digestSource: DigestSource;
  digestOrigin: DigestOrigin | null;
  needsResolution: boolean;
  observedRepository: string | null;
}

/**
 * Decides a container's digest: the runtime's repo digest when present (what actually ran), else
 * the digest pinned in the reference, else unknown and marked for registry resolution. A local image
 * ID (`docker://sha256:…`) is not a registry digest and never counts as one.
 */
export function decideContainerDigest(image: ImageReference | null, imageID: string | null | undefined): ContainerDigest {
  const observed = parseImageId(imageID);
  if (observed.digest) {
    return { digest: observed.digest, digestSource: "observed", digestOrigin: "status", needsResolution: false, observedRepository: observed.repository };
  }
  if (image?.digest) {
    return { digest: image.digest, digestSource: "observed", digestOrigin: "reference", needsResolution: false, observedRepository: null };
  }
  return { digest: null, digestSource: "unknown", digestOrigin: null, needsResolution: image !== null, observedRepository: null };
}
