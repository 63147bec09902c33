import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { importClusterImagePolicy, importImageValidatingPolicy, importKyvernoPolicy } from "@/lib/policy/import-cluster";

const pem = () => generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "pem" }).toString();
const [PA, PB] = [pem(), pem()];
const cip = (spec: Record<string, unknown>, name = "p") => importClusterImagePolicy({ apiVersion: "policy.sigstore.dev/v1beta1", kind: "ClusterImagePolicy", metadata: { name }, spec });
const ID = { issuer: "https://issuer.test", subject: "ci@acme.test" };

describe("ClusterImagePolicy importer: policy-controller v0.13 semantics", () => {
  it("transparency log only where policy-controller requires it", () => {
    const r = cip({
      images: [{ glob: "registry.test/**" }],
      authorities: [
        { name: "key-plain", key: { data: PA } }, // no ctlog: log ignored
        { name: "key-rekor", key: { data: PB }, ctlog: { url: "https://rekor.sigstore.dev" } },
        { name: "keyless-public", keyless: { identities: [ID] } }, // public-good: offline Rekor check
        { name: "keyless-private", keyless: { identities: [ID], trustRootRef: "acme" } }, // no ctlog: log ignored
        { name: "keyless-private-rekor", keyless: { identities: [ID], trustRootRef: "acme" }, ctlog: { url: "https://rekor.acme.test", trustRootRef: "acme" } },
        // v1beta1 → v1alpha1 conversion drops a ctlog without url
        { name: "key-ctlog-no-url", key: { data: PA }, ctlog: { trustRootRef: "acme" } },
        { name: "tsa", keyless: { identities: [ID], trustRootRef: "acme" }, rfc3161timestamp: { trustRootRef: "acme" } },
      ],
    });
    const d = r.documents[0]!;
    expect(Object.fromEntries(d.spec.authorities.map((a) => [a.name, a.requireTlog]))).toEqual({
      "key-plain": false,
      "key-rekor": true,
      "keyless-public": true,
      "keyless-private": false,
      "keyless-private-rekor": true,
      "key-ctlog-no-url": false,
      tsa: false,
    });
    expect(d.spec.authorities.find((a) => a.name === "keyless-private")!.keyless!.trustedRoot).toBe("acme");
    // policy-controller reads classic cosign layers unless signatureFormat: bundle
    expect(new Set(d.spec.authorities.map((a) => a.signatureFormat))).toEqual(new Set(["classic"]));
    expect(r.unsupported.join("\n")).toMatch(/rfc3161timestamp.*looser/);
    expect(r.unsupported.join("\n")).toMatch(/key-ctlog-no-url.*ctlog without url is dropped/);
    // a v1alpha1 object keeps it
    const alpha = importClusterImagePolicy({ apiVersion: "policy.sigstore.dev/v1alpha1", kind: "ClusterImagePolicy", metadata: { name: "a" }, spec: { images: [{ glob: "**" }], authorities: [{ key: { data: PA }, ctlog: { trustRootRef: "acme" } }] } });
    expect(alpha.documents[0]!.spec.authorities[0]!.requireTlog).toBe(true);
    expect(d.spec.mode).toBe("enforce");
  });

  it("static pass / fail, warn mode, globs", () => {
    const r = cip({ mode: "warn", images: [{ glob: "*" }, { glob: "*/*" }, { glob: "ghcr.io/acme/*" }], authorities: [{ static: { action: "fail", message: "frozen" } }, { name: "ok", static: { action: "pass" } }] });
    const d = r.documents[0]!;
    expect(d.spec.mode).toBe("warn");
    expect(d.spec.scope.images).toEqual(["index.docker.io/library/*", "index.docker.io/*/*", "ghcr.io/acme/*"]);
    expect(d.spec.authorities).toMatchObject([{ name: "authority-0", static: { action: "fail", message: "frozen" } }, { name: "ok", static: { action: "pass" } }]);
    expect(d.spec.require.signatures).toEqual({ anyOf: ["authority-0", "ok"] });
  });

  it("reports glob forms that policy-controller reads differently, and refuses invalid ones", () => {
    const r = cip({ images: [{ glob: "docker.io/library/redis*" }, { glob: "ghcr.io/acme/app" }, { glob: "ghcr.io/a?c/*" }], authorities: [{ key: { data: PA } }] });
    const u = r.unsupported.join("\n");
    expect(u).toMatch(/docker\.io\/library\/redis\*.*index\.docker\.io/);
    expect(u).toMatch(/ghcr\.io\/acme\/app.*without a wildcard/);
    expect(u).toMatch(/a\?c.*not a valid policy-controller glob/);
    expect(r.documents[0]!.spec.scope.images).toEqual(["docker.io/library/redis*", "ghcr.io/acme/app"]);
  });

  it("keyless identities in both forms; SCT ignoring, CA certs, sources, Secret keys are reported", () => {
    const r = cip({
      images: [{ glob: "**" }],
      authorities: [
        { name: "k", keyless: { identities: [{ issuerRegExp: "^https://issuer\\.test$", subject: "a" }, { issuer: "https://i", subjectRegExp: ".*@acme" }], insecureIgnoreSCT: true } },
        { name: "ca", keyless: { "ca-cert": { data: "x" }, identities: [ID] } },
        { name: "src", key: { data: PA }, source: [{ oci: "registry.test/sigs" }] },
        { name: "sec", key: { secretRef: { name: "k" } } },
        { name: "bundle-key", key: { data: PB }, signatureFormat: "bundle" },
      ],
    });
    const d = r.documents[0]!;
    expect(d.spec.authorities.map((a) => a.name)).toEqual(["k", "bundle-key"]);
    expect(d.spec.authorities[0]!.keyless!.identities).toEqual([
      { issuerRegExp: "^https://issuer\\.test$", subject: "a" },
      { issuer: "https://i", subjectRegExp: ".*@acme" },
    ]);
    expect(d.spec.authorities[1]!.static).toMatchObject({ action: "fail" });
    const u = r.unsupported.join("\n");
    for (const re of [/insecureIgnoreSCT.*stricter/, /ca-cert/, /source/, /secretRef/]) expect(u).toMatch(re);
  });

  it("attestation authorities, with policies reported; a CIP-level policy and match reported", () => {
    const r = cip({
      images: [{ glob: "**" }],
      match: [{ group: "apps", version: "v1", resource: "deployments" }],
      policy: { type: "cue", data: "x" },
      authorities: [{ name: "att", key: { data: PA }, attestations: [{ name: "sbom", predicateType: "cyclonedx", policy: { type: "cue", data: "y" } }] }],
    });
    expect(r.documents[0]!.spec.authorities[0]!.attestations).toEqual([{ predicateType: "https://cyclonedx.org/bom" }]);
    const u = r.unsupported.join("\n");
    expect(u).toMatch(/attestation "sbom" policy \(cue\) is not evaluated/);
    expect(u).toMatch(/spec\.policy/);
    expect(u).toMatch(/spec\.match names only deployments/);
    expect(cip({ images: [{ glob: "**" }], match: [{ version: "v1", resource: "pods" }], authorities: [{ key: { data: PA } }] }).unsupported).toEqual([]);
  });

  it("reports a key named twice", () => {
    const r = cip({ images: [{ glob: "**" }], authorities: [{ name: "a", key: { data: PA } }, { name: "b", key: { data: PA } }] });
    expect(r.unsupported.join("\n")).toMatch(/authorities "a" and "b" carry the same public key/);
  });

  it("hostile input: wrong types, huge lists, junk everywhere never throws", () => {
    const junk: unknown[] = [null, 1, "x", [], { spec: null }, { apiVersion: "policy.sigstore.dev/v1", kind: "ClusterImagePolicy", metadata: { name: "x" }, spec: { authorities: "no", images: [{}] } }];
    for (const j of junk) expect(() => importClusterImagePolicy(j)).not.toThrow();
    const many = cip({ images: [{ glob: "**" }], authorities: Array.from({ length: 101 }, () => ({ key: { data: PA } })) });
    expect(many.documents).toEqual([]);
    const weird = cip({ images: [{ glob: "**" }], authorities: [{ name: "x".repeat(500), key: { data: 5 } }, { name: "../../etc", keyless: { identities: [{ issuer: 1, subject: {} }] } }, { static: { action: "maybe" } }] });
    expect(weird.documents).toEqual([]);
    expect(weird.unsupported.length).toBeGreaterThanOrEqual(3);
  });
});

describe("Kyverno importers", () => {
  it("ClusterPolicy: rekor.ignoreTlog per attestor, ctlog.ignoreSCT reported, wildcard semantics", () => {
    const r = importKyvernoPolicy({
      apiVersion: "kyverno.io/v1",
      kind: "ClusterPolicy",
      metadata: { name: "v" },
      spec: {
        rules: [
          {
            name: "r",
            verifyImages: [
              {
                failureAction: "Enforce",
                imageReferences: ["docker.io/library/redis*", "ghcr.io/*"],
                attestors: [{ entries: [{ keys: { publicKeys: PA, rekor: { ignoreTlog: true }, ctlog: { ignoreSCT: true } } }, { keyless: { ...ID } }] }],
              },
            ],
          },
        ],
      },
    });
    const d = r.documents[0]!;
    expect(d.spec.scope.images).toEqual(["docker.io/library/redis**", "ghcr.io/**"]);
    expect(d.spec.authorities.map((a) => a.requireTlog)).toEqual([false, true]);
    expect(d.spec.require.signatures).toEqual([{ allOf: ["r-0-s0-e0", "r-0-s0-e1"] }]);
    expect(r.unsupported.join("\n")).toMatch(/ignoreSCT.*stricter/);
  });

  it("ImageValidatingPolicy: attestors by name, documented CEL forms, validation actions, namespace selector", () => {
    const r = importImageValidatingPolicy({
      apiVersion: "policies.kyverno.io/v1",
      kind: "ImageValidatingPolicy",
      metadata: { name: "ivp" },
      spec: {
        validationActions: ["Audit", "Deny"],
        matchConstraints: { namespaceSelector: { matchLabels: { tier: "prod" } } },
        matchImageReferences: [{ glob: "registry.test/*" }, { expression: "true" }],
        attestors: [
          { name: "release", cosign: { key: { data: PA }, ctlog: { insecureIgnoreTlog: true } } },
          { name: "ci", cosign: { keyless: { identities: [ID] } } },
          { name: "notary", notary: { certs: { value: "x" } } },
        ],
        attestations: [{ name: "prov", intoto: { type: "https://slsa.dev/provenance/v1" } }, { name: "sbom", referrer: { type: "sbom/cyclone-dx" } }],
        validations: [
          { expression: "images.containers.map(image, verifyImageSignatures(image, [attestors.release, attestors.ci])).all(e, e >= 2)" },
          { expression: "images.containers.map(image, verifyAttestationSignatures(image, attestations.prov, [attestors.ci])).all(e, e > 0)" },
          { expression: "images.containers.all(img, verifyImageSignatures(img, [attestors.release]) > 0)" },
          { expression: "images.containers.map(i, size(i) > 3).all(e, e)" },
        ],
      },
    });
    const d = r.documents[0]!;
    expect(d.spec.mode).toBe("enforce");
    expect(d.spec.scope).toMatchObject({ images: ["registry.test/**"], namespaceSelector: { matchLabels: { tier: "prod" } } });
    expect(d.spec.authorities.map((a) => [a.name, a.requireTlog])).toEqual([["release", false], ["ci", true]]);
    expect(d.spec.require.signatures).toEqual([{ allOf: ["release", "ci"] }, { anyOf: ["release"] }]);
    expect(d.spec.require.attestations).toEqual([{ predicateType: "https://slsa.dev/provenance/v1", signedBy: ["ci"] }]);
    const u = r.unsupported.join("\n");
    for (const re of [/Notary/, /referrer/, /matchImageReferences\[1\]: CEL/, /validations\[3\]/, /checks less than Kyverno/]) expect(u).toMatch(re);
  });

  it("ImageValidatingPolicy reached through importKyvernoPolicy; hostile expressions are refused, not run", () => {
    const base = { apiVersion: "policies.kyverno.io/v1alpha1", kind: "ImageValidatingPolicy", metadata: { name: "x" } };
    const ok = importKyvernoPolicy({ ...base, spec: { attestors: [{ name: "a", cosign: { key: { data: PA } } }], validations: [{ expression: "images.containers.map(image, verifyImageSignatures(image, [attestors.a])).all(e, e > 0)" }] } });
    expect(ok.documents[0]!.spec.scope.images).toEqual(["**"]);
    const evil = "images.containers.map(image, verifyImageSignatures(image, [" + "attestors.a,".repeat(5000) + "])).all(e, e > 0)";
    const r = importKyvernoPolicy({ ...base, spec: { attestors: [{ name: "a", cosign: { key: { data: PA } } }], validations: [{ expression: evil }, { expression: 42 }] } });
    expect(r.documents).toEqual([]);
    expect(r.unsupported.join("\n")).toMatch(/no validation could be imported/);
  });
});
