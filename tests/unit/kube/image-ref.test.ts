import { describe, expect, it } from "vitest";
import { decideContainerDigest, parseImageId, parseImageReference } from "@/lib/kube/image-ref";

const D = `sha256:${"ab".repeat(32)}`;

describe("parseImageReference", () => {
  it("expands Docker Hub short names like the runtimes", () => {
    expect(parseImageReference("nginx")).toEqual({ registry: "index.docker.io", repository: "library/nginx", tag: "latest", digest: null, name: "index.docker.io/library/nginx" });
    expect(parseImageReference("bitnami/redis:7.2")?.name).toBe("index.docker.io/bitnami/redis");
    expect(parseImageReference("docker.io/library/busybox:1.36")?.tag).toBe("1.36");
  });
  it("keeps registries with ports, tags and digests", () => {
    expect(parseImageReference(`localhost:5000/team/app:v1@${D}`)).toEqual({ registry: "localhost:5000", repository: "team/app", tag: "v1", digest: D, name: "localhost:5000/team/app" });
    expect(parseImageReference(`ghcr.io/org/app@${D}`)).toMatchObject({ tag: null, digest: D });
  });
  it("rejects what is not a reference", () => {
    expect(parseImageReference("")).toBeNull();
    expect(parseImageReference("UPPER/Case")).toBeNull();
    expect(parseImageReference("app@sha256:short")).toBeNull();
  });
});

describe("parseImageId (status.containerStatuses[].imageID)", () => {
  it("reads the repo digest of every runtime form", () => {
    expect(parseImageId(`docker-pullable://nginx@${D}`)).toEqual({ kind: "repo-digest", digest: D, repository: "index.docker.io/library/nginx" });
    expect(parseImageId(`docker.io/library/nginx@${D}`)).toEqual({ kind: "repo-digest", digest: D, repository: "index.docker.io/library/nginx" });
    expect(parseImageId(`registry.example.com:5000/a/b@${D}`).repository).toBe("registry.example.com:5000/a/b");
  });
  it("does not take a local image ID for a registry digest", () => {
    expect(parseImageId(`docker://${D}`)).toEqual({ kind: "image-id", digest: null, repository: null });
    expect(parseImageId(D)).toEqual({ kind: "image-id", digest: null, repository: null });
  });
  it("handles empty and unknown values", () => {
    expect(parseImageId("").kind).toBe("empty");
    expect(parseImageId(undefined).kind).toBe("empty");
    expect(parseImageId("something-else").kind).toBe("unrecognized");
  });
});

describe("decideContainerDigest", () => {
  const tagged = parseImageReference("registry.example.com/app:1.0");
  const pinned = parseImageReference(`registry.example.com/app@${D}`);
  const other = `sha256:${"cd".repeat(32)}`;
  it("prefers what the runtime observed", () => {
    expect(decideContainerDigest(pinned, `registry.example.com/app@${other}`)).toMatchObject({ digest: other, digestSource: "observed", digestOrigin: "status", needsResolution: false });
  });
  it("uses the digest pinned in the reference when nothing was observed", () => {
    expect(decideContainerDigest(pinned, undefined)).toMatchObject({ digest: D, digestSource: "observed", digestOrigin: "reference", needsResolution: false });
  });
  it("marks a tag without observed digest for registry resolution", () => {
    expect(decideContainerDigest(tagged, undefined)).toEqual({ digest: null, digestSource: "unknown", digestOrigin: null, needsResolution: true, observedRepository: null });
    expect(decideContainerDigest(tagged, `docker://${D}`)).toMatchObject({ digest: null, digestSource: "unknown", needsResolution: true });
  });
  it("does not ask to resolve an invalid reference", () => {
    expect(decideContainerDigest(null, undefined)).toMatchObject({ digest: null, needsResolution: false });
  });
});
