import { describe, expect, it } from "vitest";
import { artifactTypeOf, classifyReferrer, shouldFetchLayer } from "@/lib/registry/classify";
import { computeDigest, digestTag, isDigest, matchesDigest, parseDigest } from "@/lib/registry/digest";
import { ManifestParseError, parseManifest, type ImageManifest } from "@/lib/registry/manifest";
import { MEDIA } from "@/lib/registry/media-types";

const HEX = "f20c43161d73848408ef247f0ec7111b19fe58ffebc0cbcaa0d2c8bda4967268";
const d = (c: string) => `sha256:${c.repeat(64)}`;
const desc = (mediaType: string, digest = d("1"), extra: object = {}) => ({ mediaType, digest, size: 10, ...extra });

describe("digests", () => {
  it("validates, parses and derives cosign / referrers tags", () => {
    expect(isDigest(`sha256:${HEX}`)).toBe(true);
    expect(isDigest(`sha256:${HEX.toUpperCase()}`)).toBe(false);
    expect(isDigest(`sha512:${"a".repeat(128)}`)).toBe(true);
    expect(isDigest("sha256:abc")).toBe(false);
    expect(parseDigest(`sha256:${HEX}`)).toEqual({ algorithm: "sha256", hex: HEX });
    expect(() => parseDigest("md5:00")).toThrow(TypeError);
    expect(digestTag(`sha256:${HEX}`, "sig")).toBe(`sha256-${HEX}.sig`);
    expect(digestTag(`sha256:${HEX}`, "att")).toBe(`sha256-${HEX}.att`);
    expect(digestTag(`sha256:${HEX}`)).toBe(`sha256-${HEX}`);
  });

  it("computes and matches sha256 and sha512", () => {
    const bytes = Buffer.from("hello");
    expect(computeDigest(bytes)).toBe("sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
    expect(matchesDigest(bytes, computeDigest(bytes, "sha512"))).toBe(true);
    expect(matchesDigest(Buffer.from("hellO"), computeDigest(bytes))).toBe(false);
  });
});

describe("parseManifest", () => {
  const image = { schemaVersion: 2, mediaType: MEDIA.ociManifest, config: desc(MEDIA.ociConfig), layers: [desc(MEDIA.cosignSimpleSigning)] };
  const index = { schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: [desc(MEDIA.ociManifest, d("2"), { artifactType: MEDIA.ociEmpty })] };

  it("parses image manifests and indexes by their mediaType, Content-Type or shape", () => {
    expect(parseManifest(Buffer.from(JSON.stringify(image))).kind).toBe("manifest");
    expect(parseManifest(Buffer.from(JSON.stringify(index))).kind).toBe("index");
    const { mediaType: _m, ...bare } = index;
    expect(parseManifest(Buffer.from(JSON.stringify(bare))).kind).toBe("index");
    const { mediaType: _i, ...bareImage } = image;
    const p = parseManifest(Buffer.from(JSON.stringify(bareImage)), `${MEDIA.dockerManifest}; charset=utf-8`);
    expect(p).toMatchObject({ kind: "manifest", mediaType: MEDIA.dockerManifest });
    expect(parseManifest(Buffer.from(JSON.stringify({ ...index, mediaType: MEDIA.dockerManifestList }))).kind).toBe("index");
  });

  it.each([
    ["{not json", "not valid JSON"],
    ["[]", "not a JSON object"],
    [JSON.stringify({ ...image, schemaVersion: 1 }), "invalid image manifest"],
    [JSON.stringify({ ...image, layers: [{ mediaType: "x", digest: "sha256:bad", size: 1 }] }), "layers.0.digest"],
    [JSON.stringify({ ...image, layers: [{ mediaType: "x", digest: d("3"), size: -1 }] }), "layers.0.size"],
    [JSON.stringify({ ...image, mediaType: "application/vnd.docker.distribution.manifest.v1+json" }), "unsupported manifest media type"],
    [JSON.stringify({ ...index, manifests: "nope" }), "invalid image index"],
  ])("rejects %s", (text, message) => {
    expect(() => parseManifest(Buffer.from(text))).toThrow(ManifestParseError);
    expect(() => parseManifest(Buffer.from(text))).toThrow(message);
  });
});

describe("classifyReferrer", () => {
  const m = (layers: string[], extra: Partial<ImageManifest> = {}): ImageManifest => ({
    schemaVersion: 2,
    config: desc(MEDIA.ociEmpty),
    layers: layers.map((t) => desc(t)),
    ...extra,
  });

  it("classifies by layer media type and artifactType, not by the index entry alone", () => {
    expect(classifyReferrer(m(["application/vnd.dev.sigstore.bundle.v0.3+json"]), desc(MEDIA.ociManifest, d("1"), { artifactType: MEDIA.ociEmpty }))).toBe("bundle");
    expect(classifyReferrer(m(["application/vnd.dev.sigstore.bundle+json;version=0.2"]))).toBe("bundle");
    expect(classifyReferrer(m([MEDIA.cosignSimpleSigning]))).toBe("signature");
    expect(classifyReferrer(m([MEDIA.dsseEnvelope]))).toBe("attestation");
    expect(classifyReferrer(m(["application/spdx+json"]))).toBe("sbom");
    expect(classifyReferrer(m(["application/octet-stream"], { artifactType: "application/vnd.cyclonedx+json" }))).toBe("sbom");
    expect(classifyReferrer(m(["application/octet-stream"]))).toBe("other");
  });

  it("fetches evidence layers only", () => {
    expect(shouldFetchLayer("bundle", "referrer", desc("application/vnd.dev.sigstore.bundle.v0.3+json"))).toBe(true);
    expect(shouldFetchLayer("bundle", "referrer", desc("application/octet-stream"))).toBe(false);
    expect(shouldFetchLayer("signature", "tag", desc("application/octet-stream"))).toBe(true);
    expect(shouldFetchLayer("sbom", "tag", desc("application/spdx+json"))).toBe(false);
    expect(shouldFetchLayer("other", "referrer", desc("application/json"))).toBe(false);
  });

  it("derives the artifactType", () => {
    expect(artifactTypeOf(m([], { artifactType: "a/b" }))).toBe("a/b");
    expect(artifactTypeOf({ ...m([]), config: desc("application/vnd.example.thing") })).toBe("application/vnd.example.thing");
    expect(artifactTypeOf(m([]), desc(MEDIA.ociManifest, d("1"), { artifactType: "x/y" }))).toBe("x/y");
    expect(artifactTypeOf({ ...m([]), config: desc(MEDIA.ociConfig) })).toBeUndefined();
  });
});
