import { describe, expect, it } from "vitest";
import { parseImageReference } from "@/lib/kube/image-ref";
import { imageInScope } from "@/lib/policy/image-scope";
import { policyApplies } from "@/lib/policy/scope";
import { canonicalImageGlob } from "@/lib/registry/reference";

const nameOf = (written: string) => parseImageReference(written)!.name;

describe("canonical image names (Docker Hub forms)", () => {
  it("every way of writing a Docker Hub image has one canonical name", () => {
    for (const w of ["redis", "redis:7", "library/redis", "docker.io/redis", "docker.io/library/redis:7", "index.docker.io/library/redis", "registry-1.docker.io/library/redis@sha256:" + "a".repeat(64)]) {
      expect(nameOf(w), w).toBe("index.docker.io/library/redis");
    }
    expect(nameOf("docker.io/bitnami/redis")).toBe("index.docker.io/bitnami/redis");
    expect(nameOf("ghcr.io/acme/redis")).toBe("ghcr.io/acme/redis");
    expect(nameOf("localhost:5000/redis")).toBe("localhost:5000/redis");
  });

  it("canonical globs", () => {
    expect(canonicalImageGlob("docker.io/library/redis*")).toBe("index.docker.io/library/redis*");
    expect(canonicalImageGlob("docker.io/redis*")).toBe("index.docker.io/library/redis*");
    expect(canonicalImageGlob("DOCKER.IO/redis")).toBe("index.docker.io/library/redis");
    expect(canonicalImageGlob("registry-1.docker.io/bitnami/*")).toBe("index.docker.io/bitnami/*");
    expect(canonicalImageGlob("library/redis")).toBe("index.docker.io/library/redis");
    expect(canonicalImageGlob("redis")).toBe("index.docker.io/library/redis");
    expect(canonicalImageGlob("bitnami/**")).toBe("index.docker.io/bitnami/**");
    expect(canonicalImageGlob("docker.io/**")).toBe("index.docker.io/**");
    expect(canonicalImageGlob("GHCR.io/Acme/*")).toBe("ghcr.io/Acme/*");
    expect(canonicalImageGlob("**")).toBe("**");
    expect(canonicalImageGlob("redis*")).toBe("redis*");
    expect(canonicalImageGlob("*.example.com/app")).toBe("*.example.com/app");
    expect(canonicalImageGlob("localhost:5000/app")).toBe("localhost:5000/app");
  });

  it("a Kyverno-style and a user glob apply to redis however the container writes it", () => {
    const globs = [["docker.io/library/redis*"], ["docker.io/redis*"], ["index.docker.io/library/redis"], ["redis"], ["library/redis"]];
    for (const written of ["redis", "library/redis", "docker.io/redis:7", "index.docker.io/library/redis@sha256:" + "b".repeat(64)]) {
      for (const g of globs) {
        expect(imageInScope(g, nameOf(written), written), `${g} vs ${written}`).toBe(true);
        expect(
          policyApplies({ scope: { images: g } }, { cluster: "c", namespace: "n", namespaceLabels: {}, imageName: nameOf(written), imageRef: written }),
        ).toBe(true);
      }
    }
    // and not to other images
    expect(imageInScope(["docker.io/redis*"], nameOf("bitnami/redis"), "bitnami/redis")).toBe(false);
    expect(imageInScope(["docker.io/library/redis*"], nameOf("ghcr.io/library/redis"), "ghcr.io/library/redis")).toBe(false);
    expect(imageInScope(["redis"], nameOf("redisx"), "redisx")).toBe(false);
  });

  it("globs with a tag match the reference as written, canonically", () => {
    expect(imageInScope(["docker.io/redis:7*"], nameOf("redis:7.2"), "redis:7.2")).toBe(true);
    expect(imageInScope(["docker.io/redis:7*"], nameOf("redis:6"), "redis:6")).toBe(false);
    expect(imageInScope(["index.docker.io/library/redis:latest"], nameOf("redis"), "redis")).toBe(true);
  });
});

describe("hostile scope globs", () => {
  const doc = (images: string[]) =>
    `apiVersion: signet.dev/v1\nkind: Policy\nmetadata: { name: x }\nspec:\n  scope: { images: ${JSON.stringify(images)} }\n  authorities: [ { name: s, static: { action: pass } } ]`;
  it("are bounded at save and match in linear time", async () => {
    const { parsePolicyDocuments, PolicyValidationError } = await import("@/lib/policy/schema");
    expect(() => parsePolicyDocuments(doc(["a".repeat(1025)]))).toThrow(PolicyValidationError);
    expect(() => parsePolicyDocuments(doc(Array.from({ length: 1001 }, (_, i) => `r${i}/**`)))).toThrow(PolicyValidationError);
    const [ok] = parsePolicyDocuments(doc([`${"*a".repeat(300)}b`]));
    const long = `ghcr.io/${"a".repeat(900)}`;
    expect(imageInScope(ok!.spec.scope.images, long, long)).toBe(false);
  });
});
