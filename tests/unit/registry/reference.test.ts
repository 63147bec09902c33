import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  DOCKER_HUB,
  InvalidReferenceError,
  formatImageReference,
  normalizeRegistryHost,
  parseImageReference,
  parseRepository,
  tryParseImageReference,
} from "@/lib/registry/reference";

const D = `sha256:${"a".repeat(64)}`;

describe("parseImageReference", () => {
  it.each([
    ["busybox", { registry: DOCKER_HUB, repository: "library/busybox", tag: "latest" }],
    ["busybox:1.36", { registry: DOCKER_HUB, repository: "library/busybox", tag: "1.36" }],
    ["docker.io/busybox", { registry: DOCKER_HUB, repository: "library/busybox", tag: "latest" }],
    ["docker.io/library/busybox:1", { registry: DOCKER_HUB, repository: "library/busybox", tag: "1" }],
    ["index.docker.io/bitnami/nginx", { registry: DOCKER_HUB, repository: "bitnami/nginx", tag: "latest" }],
    ["registry-1.docker.io/x/y:z", { registry: DOCKER_HUB, repository: "x/y", tag: "z" }],
    ["bitnami/nginx:1.25", { registry: DOCKER_HUB, repository: "bitnami/nginx", tag: "1.25" }],
    ["ghcr.io/org/app", { registry: "ghcr.io", repository: "org/app", tag: "latest" }],
    ["GHCR.io/org/app", { registry: "ghcr.io", repository: "org/app", tag: "latest" }],
    ["localhost/app", { registry: "localhost", repository: "app", tag: "latest" }],
    ["localhost:5000/app:v1", { registry: "localhost:5000", repository: "app", tag: "v1" }],
    ["127.0.0.1:5000/a/b/c:v1", { registry: "127.0.0.1:5000", repository: "a/b/c", tag: "v1" }],
    ["[::1]:5000/app:v1", { registry: "[::1]:5000", repository: "app", tag: "v1" }],
    [`ghcr.io/org/app@${D}`, { registry: "ghcr.io", repository: "org/app", digest: D }],
    [`ghcr.io/org/app:v1@${D}`, { registry: "ghcr.io", repository: "org/app", tag: "v1", digest: D }],
    [`registry.example:443/a_b/c.d/e-f__g@${D}`, { registry: "registry.example:443", repository: "a_b/c.d/e-f__g", digest: D }],
  ])("%s", (input, expected) => {
    expect(parseImageReference(input)).toEqual(expected);
  });

  it.each([
    ["", "empty"],
    ["Busybox", "lower case"],
    ["ghcr.io/Org/app", "lower case"],
    ["ghcr.io/org/app:", "invalid tag"],
    ["ghcr.io/org/app:-x", "invalid tag"],
    [`ghcr.io/org/app@sha256:${"a".repeat(63)}`, "digest"],
    ["ghcr.io/org/app@md5:abc", "digest"],
    ["ghcr.io//app", "invalid path component"],
    ["ghcr.io/org/../app", "invalid path component"],
    ["ghcr.io/org/app name", "white space"],
    ["bad_host.example:5000/x", "registry host"],
    ["host:99999/x", "registry host"],
    [`ghcr.io/${"a".repeat(260)}`, "longer than"],
  ])("rejects %j (%s)", (input, why) => {
    expect(() => parseImageReference(input)).toThrow(InvalidReferenceError);
    expect(() => parseImageReference(input)).toThrow(why);
    expect(tryParseImageReference(input)).toBeUndefined();
  });

  it("formats back to a fully qualified reference that parses to the same value", () => {
    const component = fc.stringMatching(/^[a-z0-9]{1,8}(?:[._-][a-z0-9]{1,5})?$/);
    const host = fc.constantFrom("ghcr.io", "registry.example:5000", "127.0.0.1:5000", "localhost:1234", DOCKER_HUB);
    const tag = fc.option(fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}$/), { nil: undefined });
    const digest = fc.option(fc.stringMatching(/^[a-f0-9]{64}$/).map((h) => `sha256:${h}`), { nil: undefined });
    fc.assert(
      fc.property(host, fc.array(component, { minLength: 2, maxLength: 4 }), tag, digest, (h, path, t, d) => {
        const ref = { registry: h, repository: path.join("/"), ...(t ? { tag: t } : {}), ...(d ? { digest: d } : {}) };
        const parsed = parseImageReference(formatImageReference(ref));
        expect(parsed).toEqual(t || d ? ref : { ...ref, tag: "latest" });
      }),
    );
  });

  it("never throws anything but InvalidReferenceError on arbitrary input", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (s) => {
        try {
          const r = parseImageReference(s);
          expect(r.repository.length).toBeGreaterThan(0);
        } catch (err) {
          expect(err).toBeInstanceOf(InvalidReferenceError);
        }
      }),
    );
  });
});

describe("parseRepository and hosts", () => {
  it("parses COSIGN_REPOSITORY-style values", () => {
    expect(parseRepository("ghcr.io/org/sigs")).toEqual({ registry: "ghcr.io", repository: "org/sigs" });
    expect(parseRepository("sigs")).toEqual({ registry: DOCKER_HUB, repository: "library/sigs" });
    expect(parseRepository("127.0.0.1:5000/sigs")).toEqual({ registry: "127.0.0.1:5000", repository: "sigs" });
    expect(() => parseRepository("ghcr.io/org/sigs:v1")).toThrow("must not carry a tag");
    expect(() => parseRepository(`ghcr.io/org/sigs@${D}`)).toThrow("must not carry a tag");
  });

  it("normalizes Docker Hub aliases and case", () => {
    for (const h of ["docker.io", "Docker.IO", "index.docker.io", "registry-1.docker.io"]) expect(normalizeRegistryHost(h)).toBe(DOCKER_HUB);
    expect(normalizeRegistryHost("Registry.Example:5000")).toBe("registry.example:5000");
    expect(() => normalizeRegistryHost("a b")).toThrow(InvalidReferenceError);
  });
});
