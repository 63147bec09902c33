import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { matchesGlob } from "@/lib/glob";
import { importClusterImagePolicy, importKyvernoPolicy } from "@/lib/policy/import-cluster";
import { parsePolicyDocuments, PolicyValidationError } from "@/lib/policy/schema";
import { policyApplies } from "@/lib/policy/scope";

const PEM = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "pem" }).toString();

function problems(yaml: string): string[] {
  try {
    parsePolicyDocuments(yaml);
  } catch (err) {
    if (err instanceof PolicyValidationError) return err.problems;
    throw err;
  }
  return [];
}

describe("policy documents", () => {
  it("parse YAML with defaults, and several documents", () => {
    const docs = parsePolicyDocuments(`apiVersion: signet.dev/v1
kind: Policy
metadata: { name: a }
spec:
  authorities: [ { name: k, key: { pem: ${JSON.stringify(PEM)} } } ]
---
{"apiVersion":"signet.dev/v1","kind":"Policy","metadata":{"name":"b"},"spec":{"mode":"enforce","authorities":[{"name":"ci","keyless":{"identities":[{"issuer":"https://accounts.google.com","subject":"a@b.c"}]}}]}}`);
    expect(docs.map((d) => d.metadata.name)).toEqual(["a", "b"]);
    expect(docs[0]!.spec).toMatchObject({ mode: "audit", requireTlog: true, scope: { images: ["**"] }, require: { attestations: [] } });
    expect(docs[1]!.spec.authorities[0]).toMatchObject({ status: "active", keyless: { trustedRoot: "public-good" } });
  });

  it("report every problem with its path", () => {
    const p = problems(`apiVersion: signet.dev/v1
kind: Policy
metadata: { name: Bad_Name }
spec:
  mode: block
  authorities:
    - { name: k, key: { pem: "not a key" } }
    - { name: k, keyless: { identities: [ { issuer: x } ] } }
  require:
    signatures: { atLeast: 3, of: [k, ghost] }`);
    const joined = p.join("\n");
    expect(joined).toContain("metadata.name:");
    expect(joined).toContain("spec.mode:");
    expect(joined).toContain("spec.authorities.0.key.pem: must be a PEM public key");
    expect(joined).toContain("exactly one of subject / subjectRegExp");
  });

  it("rejects cross-reference errors", () => {
    const p = problems(`apiVersion: signet.dev/v1
kind: Policy
metadata: { name: x }
spec:
  authorities: [ { name: k, key: { pem: ${JSON.stringify(PEM)} } }, { name: k, key: { pem: ${JSON.stringify(PEM)} } } ]
  require: { signatures: { atLeast: 3, of: [k, ghost] } }`).join("\n");
    expect(p).toContain('duplicate authority "k"');
    expect(p).toContain('unknown authority "ghost"');
    expect(p).toContain("atLeast 3 of only 2");
  });

  it("refuses a policy that requires nothing, syntax errors and bad regexps", () => {
    expect(problems(`apiVersion: signet.dev/v1\nkind: Policy\nmetadata: { name: x }\nspec:\n  authorities: [ { name: k, key: { pem: ${JSON.stringify(PEM)} } } ]\n  require: { signatures: [] }`).join()).toContain("at least one signature or attestation");
    expect(problems("apiVersion: [unclosed")[0]).toMatch(/^\(syntax\)/);
    expect(problems(`apiVersion: signet.dev/v1\nkind: Policy\nmetadata: { name: x }\nspec:\n  authorities: [ { name: c, keyless: { identities: [ { issuer: i, subjectRegExp: "(" } ] } } ]`).join()).toContain("valid regular expression");
    expect(problems("")[0]).toContain("no policy document");
  });
});

describe("scope", () => {
  it("globs: * within a segment, ** across", () => {
    expect(matchesGlob("ghcr.io/acme/app", "ghcr.io/acme/*")).toBe(true);
    expect(matchesGlob("ghcr.io/acme/team/app", "ghcr.io/acme/*")).toBe(false);
    expect(matchesGlob("ghcr.io/acme/team/app", "ghcr.io/acme/**")).toBe(true);
    expect(matchesGlob("ghcr.io/acmex/app", "ghcr.io/acme/**")).toBe(false);
    expect(matchesGlob("a.b", "a?b")).toBe(true);
    expect(matchesGlob("ghcr.io/acme/app", "ghcr.io/acme/app")).toBe(true);
  });

  it("cluster, namespace, exclusions, label selectors and images", () => {
    const spec = {
      scope: {
        clusters: ["prod-*"],
        namespaces: ["team-*"],
        excludeNamespaces: ["team-sandbox"],
        namespaceSelector: { matchLabels: { tier: "prod" }, matchExpressions: [{ key: "legacy", operator: "DoesNotExist" as const }] },
        images: ["ghcr.io/acme/**"],
      },
    };
    const ctx = { cluster: "prod-eu", namespace: "team-a", namespaceLabels: { tier: "prod" }, imageName: "ghcr.io/acme/app" };
    expect(policyApplies(spec, ctx)).toBe(true);
    expect(policyApplies(spec, { ...ctx, cluster: "dev" })).toBe(false);
    expect(policyApplies(spec, { ...ctx, namespace: "team-sandbox" })).toBe(false);
    expect(policyApplies(spec, { ...ctx, namespace: "other" })).toBe(false);
    expect(policyApplies(spec, { ...ctx, namespaceLabels: { tier: "prod", legacy: "1" } })).toBe(false);
    expect(policyApplies(spec, { ...ctx, namespaceLabels: {} })).toBe(false);
    expect(policyApplies(spec, { ...ctx, imageName: "index.docker.io/library/nginx" })).toBe(false);
  });
});

describe("import from clusters", () => {
  it("ClusterImagePolicy: key and keyless authorities, globs, attestations, mode; unsupported parts listed", () => {
    const r = importClusterImagePolicy({
      apiVersion: "policy.sigstore.dev/v1beta1",
      kind: "ClusterImagePolicy",
      metadata: { name: "prod-images" },
      spec: {
        mode: "warn",
        images: [{ glob: "ghcr.io/acme/**" }],
        authorities: [
          { name: "release-key", key: { data: PEM, hashAlgorithm: "sha256" } },
          {
            name: "ci",
            keyless: {
              url: "https://fulcio.sigstore.dev",
              identities: [{ issuer: "https://token.actions.githubusercontent.com", subjectRegExp: "^https://github.com/acme/.*$" }],
            },
          },
          { name: "kms", key: { kms: "awskms:///alias/x" } },
        ],
        policy: { type: "cue", data: "x" },
      },
    });
    expect(r.documents).toHaveLength(1);
    const doc = r.documents[0]!;
    expect(doc.metadata.name).toBe("cip-prod-images");
    expect(doc.spec.mode).toBe("warn");
    expect(doc.spec.scope.images).toEqual(["ghcr.io/acme/**"]);
    expect(doc.spec.authorities.map((a) => a.name)).toEqual(["release-key", "ci"]);
    // authorities are alternatives; the log is required where policy-controller requires it
    expect(doc.spec.require.signatures).toEqual({ anyOf: ["release-key", "ci"] });
    expect(doc.spec.authorities.map((a) => a.requireTlog)).toEqual([false, true]);
    expect(r.unsupported.join("\n")).toMatch(/KMS keys/);
    expect(r.unsupported.join("\n")).toMatch(/spec.policy/);
  });

  it("ClusterImagePolicy with only attestation authorities requires the attestations (short names mapped)", () => {
    const r = importClusterImagePolicy({
      apiVersion: "policy.sigstore.dev/v1alpha1",
      kind: "ClusterImagePolicy",
      metadata: { name: "slsa" },
      spec: { images: [{ glob: "**" }], authorities: [{ key: { data: PEM }, attestations: [{ name: "p", predicateType: "slsaprovenance1" }] }] },
    });
    expect(r.documents[0]!.spec.require).toEqual({ signatures: { anyOf: ["authority-0"] }, attestations: [] });
    expect(r.documents[0]!.spec.authorities[0]).toMatchObject({ name: "authority-0", requireTlog: false, attestations: [{ predicateType: "https://slsa.dev/provenance/v1" }] });
  });

  it("a ClusterImagePolicy with nothing importable produces no document and says why", () => {
    const r = importClusterImagePolicy({
      apiVersion: "policy.sigstore.dev/v1beta1",
      kind: "ClusterImagePolicy",
      metadata: { name: "kms" },
      spec: { images: [{ glob: "**" }], authorities: [{ key: { kms: "gcpkms://x" } }, { keyless: { identities: [] } }] },
    });
    expect(r.documents).toEqual([]);
    expect(r.unsupported.join("\n")).toMatch(/KMS keys/);
    expect(r.unsupported.join("\n")).toMatch(/keyless needs identities/);
    expect(r.unsupported.join("\n")).toMatch(/no authority could be imported/);
  });

  it("Kyverno verifyImages: attestor sets with count, keyless, attestations, enforce mode, namespaces", () => {
    const r = importKyvernoPolicy({
      apiVersion: "kyverno.io/v1",
      kind: "ClusterPolicy",
      metadata: { name: "verify" },
      spec: {
        validationFailureAction: "Enforce",
        rules: [
          {
            name: "check",
            match: { any: [{ resources: { kinds: ["Pod"], namespaces: ["payments"] } }] },
            verifyImages: [
              {
                imageReferences: ["ghcr.io/acme/*"],
                attestors: [
                  { count: 1, entries: [{ keys: { publicKeys: PEM } }, { keyless: { subject: "a@b.c", issuer: "https://accounts.google.com" } }] },
                ],
                attestations: [{ predicateType: "https://slsa.dev/provenance/v0.2", conditions: [{ all: [] }] }],
              },
            ],
          },
          { name: "other", validate: {} },
        ],
      },
    });
    expect(r.documents).toHaveLength(1);
    const d = r.documents[0]!;
    expect(d.spec.mode).toBe("enforce");
    // Kyverno's "*" crosses "/"
    expect(d.spec.scope).toMatchObject({ images: ["ghcr.io/acme/**"], namespaces: ["payments"] });
    expect(d.spec.authorities.every((a) => a.requireTlog === true)).toBe(true);
    expect(d.spec.require.signatures).toEqual([{ atLeast: 1, of: ["check-0-s0-e0", "check-0-s0-e1"] }]);
    expect(d.spec.require.attestations).toEqual([{ predicateType: "https://slsa.dev/provenance/v0.2" }]);
    expect(r.unsupported.join("\n")).toMatch(/conditions are not evaluated/);
  });

  it("rejects objects of other kinds", () => {
    expect(importClusterImagePolicy({ kind: "Pod" }).documents).toEqual([]);
    expect(importKyvernoPolicy({ apiVersion: "v1", kind: "ConfigMap" }).unsupported[0]).toMatch(/not a Kyverno policy/);
  });
});
