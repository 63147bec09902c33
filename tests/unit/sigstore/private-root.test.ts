/**
 * Keyless verification against a custom trusted_root.json (a private Sigstore deployment generated
 * locally): certificate validity at the Rekor integratedTime, chain to the right CA, EKU, SCT, Rekor
 * body binding, several roots at once, and a cross-check of the generated PKI with the openssl CLI.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadPublicGoodTrustRoot, parseTrustedRoot, type TrustRoot } from "@/lib/sigstore/trusted-root";
import type { VerifiedEvidence } from "@/lib/sigstore/types";
import { extractProvenance } from "@/lib/sigstore/provenance";
import { verifyArtifacts } from "@/lib/sigstore/verify-artifacts";
import { compilePolicyFile, evaluateDiscovered } from "@/lib/verify";
import { inTotoStatement, randomDigest, tagArtifact } from "../../support/sigstore-fixtures";
import { keylessAttestationLayer, keylessSignatureLayer, makeCa, makeLeaf, makePrivateSigstore, type Leaf } from "../../support/sigstore-pki";

const sigstore = makePrivateSigstore();
const root = parseTrustedRoot(sigstore.trustedRootJson, { id: "private" });
const T = new Date("2025-06-01T12:00:00Z");
const t = Math.floor(T.getTime() / 1000);
const minutes = (n: number) => new Date(T.getTime() + n * 60_000);
const NOW = new Date("2026-11-25T00:00:00Z");

function leaf(overrides: Partial<Parameters<typeof makeLeaf>[0]> = {}): Leaf {
  return makeLeaf({
    ca: sigstore.ca,
    ctlog: sigstore.ctlog,
    notBefore: minutes(-1),
    notAfter: minutes(9),
    identity: { uri: "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.2.3" },
    issuerV1: "https://token.actions.githubusercontent.com",
    issuerV2: "https://token.actions.githubusercontent.com",
    fulcio: {
      9: "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.2.3",
      10: "0123456789abcdef0123456789abcdef01234567",
      11: "github-hosted",
      12: "https://github.com/acme/app",
      13: "0123456789abcdef0123456789abcdef01234567",
      14: "refs/tags/v1.2.3",
      15: "123456",
      16: "https://github.com/acme",
      17: "7890",
      18: "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.2.3",
      19: "0123456789abcdef0123456789abcdef01234567",
      20: "push",
      21: "https://github.com/acme/app/actions/runs/1/attempts/1",
      22: "public",
      23: "production",
    },
    ...overrides,
  });
}

function verifySig(l: Leaf, opts: { integratedTime?: number | null; trust?: TrustRoot | TrustRoot[]; bodyCertPem?: string; now?: Date } = {}): VerifiedEvidence {
  const digest = randomDigest();
  const layer = keylessSignatureLayer({ sigstore, leaf: l, imageDigest: digest, integratedTime: opts.integratedTime === undefined ? t : opts.integratedTime, bodyCertPem: opts.bodyCertPem });
  const [e] = verifyArtifacts({
    image: { registry: "registry.local", repository: "team/app", digest },
    artifacts: [tagArtifact(digest, "sig", [layer])],
    trust: opts.trust ?? root,
    keys: [],
    now: opts.now ?? NOW,
  });
  return e as VerifiedEvidence;
}

const codes = (e: VerifiedEvidence) => e.reasons.map((r) => r.code);

describe("keyless with a custom trusted root", () => {
  const good = leaf();

  it("verifies a certificate valid at the Rekor integratedTime (expired now) and reports every Fulcio extension", () => {
    const e = verifySig(good);
    expect(codes(e)).toEqual([]);
    expect(e.status).toBe("valid");
    expect(e.trustRootId).toBe("private");
    expect(e.checkedAt).toEqual([{ source: "tlog", time: T.toISOString() }]);
    expect(e.tlog).toMatchObject({ logIndex: 7, integratedTime: t, logId: sigstore.rekor.logIdHex, verifiedSet: true, verifiedInclusionProof: false, logUrl: "https://rekor.signet.test", kind: "hashedrekord" });
    expect(e.signer).toMatchObject({
      kind: "keyless",
      identity: "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.2.3",
      identityType: "uri",
      issuer: "https://token.actions.githubusercontent.com",
      issuerSource: "1.3.6.1.4.1.57264.1.8",
      certificate: { notBefore: minutes(-1).toISOString(), notAfter: minutes(9).toISOString(), issuerDN: "O=signet.test, CN=private-fulcio", subjectDN: "" },
      extensions: {
        buildSignerUri: "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.2.3",
        buildSignerDigest: "0123456789abcdef0123456789abcdef01234567",
        runnerEnvironment: "github-hosted",
        sourceRepositoryUri: "https://github.com/acme/app",
        sourceRepositoryDigest: "0123456789abcdef0123456789abcdef01234567",
        sourceRepositoryRef: "refs/tags/v1.2.3",
        sourceRepositoryIdentifier: "123456",
        sourceRepositoryOwnerUri: "https://github.com/acme",
        sourceRepositoryOwnerIdentifier: "7890",
        buildConfigUri: "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.2.3",
        buildConfigDigest: "0123456789abcdef0123456789abcdef01234567",
        buildTrigger: "push",
        runInvocationUri: "https://github.com/acme/app/actions/runs/1/attempts/1",
        sourceRepositoryVisibilityAtSigning: "public",
        deploymentEnvironment: "production",
        githubWorkflowTrigger: null,
      },
    });
  });

  it("takes the issuer from .1.1 when .1.8 is absent, and reads email SANs", () => {
    const e = verifySig(leaf({ issuerV2: undefined, issuerV1: "https://accounts.example", identity: { email: "dev@signet.test" } }));
    expect(e.status).toBe("valid");
    expect(e.signer).toMatchObject({ identity: "dev@signet.test", identityType: "email", issuer: "https://accounts.example", issuerSource: "1.3.6.1.4.1.57264.1.1" });
  });

  it("refuses a certificate that had expired at integratedTime", () => {
    const e = verifySig(leaf({ notBefore: minutes(-20), notAfter: minutes(-10) }));
    expect(e.status).toBe("invalid");
    expect(codes(e)).toEqual(["cert-expired-at-integrated-time"]);
  });

  it("refuses a certificate not yet valid at integratedTime", () => {
    const e = verifySig(leaf({ notBefore: minutes(5), notAfter: minutes(15) }));
    expect(codes(e)).toEqual(["cert-expired-at-integrated-time"]);
  });

  it("refuses a certificate from a CA that is not in the trusted root (wrong chain)", () => {
    const rogue = makeCa("private-fulcio");
    const e = verifySig(makeLeaf({ ca: rogue, ctlog: sigstore.ctlog, notBefore: minutes(-1), notAfter: minutes(9), identity: { email: "dev@signet.test" }, issuerV2: "https://x" }));
    expect(e.status).toBe("invalid");
    expect(codes(e)).toEqual(["cert-chain"]);
  });

  it("refuses a leaf without the codeSigning EKU", () => {
    const e = verifySig(leaf({ codeSigning: false }));
    expect(codes(e)).toEqual(["cert-eku"]);
  });

  it("refuses a leaf without an SCT, or with an SCT from an unknown CT log", async () => {
    expect(codes(verifySig(leaf({ ctlog: null })))).toEqual(["sct"]);
    const { makeLog } = await import("../../support/sigstore-fixtures");
    expect(codes(verifySig(leaf({ ctlog: makeLog() })))).toEqual(["sct"]);
  });

  it("refuses a Rekor entry naming another certificate (SET valid, body bound to someone else)", () => {
    const e = verifySig(good, { bodyCertPem: leaf().pem });
    expect(codes(e)).toContain("tlog-body-mismatch");
    expect(e.status).toBe("invalid");
  });

  it("with several roots, records the one that verified; the public-good root alone fails", () => {
    const both = verifySig(good, { trust: [loadPublicGoodTrustRoot(), root] });
    expect(both.status).toBe("valid");
    expect(both.trustRootId).toBe("private");
    const publicOnly = verifySig(good, { trust: loadPublicGoodTrustRoot() });
    expect(publicOnly.status).toBe("invalid");
  });

  it("without tlog or timestamp, checks the certificate at `now`", () => {
    const atSigning = verifySig(good, { integratedTime: null, now: minutes(2) });
    expect(atSigning.status).toBe("valid");
    expect(atSigning.tlog).toBeNull();
    expect(atSigning.checkedAt).toEqual([{ source: "now", time: minutes(2).toISOString() }]);
    const later = verifySig(good, { integratedTime: null, now: NOW });
    expect(codes(later)).toEqual(["cert-expired-at-integrated-time"]);
  });

  it("a certificate or provenance value longer than the facts keep is never cut to fit an anchored pattern", () => {
    // 2048 characters are kept: a value whose first 2048 end in "@refs/heads/main" must not pass for a main-branch identity
    const main = "@refs/heads/main";
    const long = (prefix: string) => `${prefix}${"a".repeat(2048 - prefix.length - main.length)}${main}-attacker-branch`;
    const identity = long("https://github.com/acme/app/.github/workflows/");
    const ref = long("refs/heads/");
    const policy = (name: string, extra: string) =>
      `---\napiVersion: signet.dev/v1\nkind: Policy\nmetadata: { name: ${name} }\nspec: { authorities: [ { name: ci, keyless: { trustedRoot: private, identities: [ { issuer: "https://token.actions.githubusercontent.com", subjectRegExp: "^https://github\\\\.com/acme/app/\\\\.github/workflows/.*@refs/heads/main$" } ]${extra} } } ] }\n`;
    const policies = compilePolicyFile(
      policy("identity", "") +
        policy("extension", ', extensions: { sourceRepositoryRef: { regexp: "^refs/heads/main$|^refs/heads/.*refs/heads/main$" } }').replace(/subjectRegExp: "[^"]*"/, 'subjectRegExp: "^https://github\\\\.com/acme/app/"'),
    );
    const check = (l: Leaf, name: string) => {
      const digest = randomDigest();
      const image = { registry: "registry.local", repository: "team/app", digest };
      const artifacts = [tagArtifact(digest, "sig", [keylessSignatureLayer({ sigstore, leaf: l, imageDigest: digest, integratedTime: t })])];
      const r = evaluateDiscovered({ image, discovery: { outcome: "found", image, artifacts, manifestDigests: [] }, policies: policies.filter((p) => p.name === name), trust: [root], now: NOW });
      return { value: r.policies[0]!.verdict.value, evidence: r.evidence[0]! };
    };
    // controls: the same patterns verify the values they are meant for
    expect(check(leaf({ identity: { uri: "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main" } }), "identity").value).toBe("verified");
    expect(check(leaf({ fulcio: { 14: "refs/heads/main" } }), "extension").value).toBe("verified");
    // an over-long SAN and an over-long extension: not verified, and the evidence says why
    for (const [l, name] of [[leaf({ identity: { uri: identity } }), "identity"], [leaf({ fulcio: { 14: ref } }), "extension"]] as const) {
      const { value, evidence } = check(l, name);
      expect(value).not.toBe("verified");
      expect(evidence.status).not.toBe("valid");
      expect(evidence.reasons.map((r) => r.message).join()).toMatch(/longer than 2048 characters/);
    }
    // provenance fields attestation conditions match on are kept whole too
    const provenance = (workflowRef: string) => extractProvenance("https://slsa.dev/provenance/v1", { buildDefinition: { externalParameters: { workflow: { ref: workflowRef } } } });
    expect(provenance("refs/heads/main")?.sourceRef).toBe("refs/heads/main");
    expect(() => provenance(ref)).toThrow(/longer than 2048 characters/);
  });

  it("a SET from a log outside its validity window is refused", () => {
    const json = JSON.parse(sigstore.trustedRootJson);
    json.tlogs[0].publicKey.validFor = { start: "2026-01-01T00:00:00Z" };
    const late = parseTrustedRoot(JSON.stringify(json), { id: "late-log" });
    expect(codes(verifySig(good, { trust: late }))).toEqual(["tlog-set"]);
  });

  it("verifies a legacy keyless attestation (dsse entry) with SLSA v1 provenance", () => {
    const digest = randomDigest();
    const predicate = JSON.parse(fs.readFileSync(path.resolve(import.meta.dirname, "../../../../shared/vectors/statements/slsa-provenance-v1.unsigned.json"), "utf8").toString()).predicate;
    const statement = inTotoStatement(digest, "https://slsa.dev/provenance/v1", predicate, "https://in-toto.io/Statement/v1");
    const layer = keylessAttestationLayer({ sigstore, leaf: good, imageDigest: digest, integratedTime: t, statement, predicateType: "https://slsa.dev/provenance/v1" });
    const image = { registry: "registry.local", repository: "team/app", digest };
    const [e] = verifyArtifacts({ image, artifacts: [tagArtifact(digest, "att", [layer])], trust: root, keys: [], now: NOW });
    expect(e?.reasons).toEqual([]);
    expect(e?.kind).toBe("attestation");
    expect(e?.tlog?.kind).toBe("dsse");
    expect(e?.statement?.type).toBe("https://in-toto.io/Statement/v1");
    expect(e?.provenance).toEqual({
      slsaVersion: "v1",
      builderId: "https://github.com/actions/runner/github-hosted",
      buildType: "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1",
      sourceRepository: "git+https://github.com/sigstore/sigstore-js@refs/heads/main",
      sourceCommit: "f0b49a04e5a62250e0f60fb128004a73110fe311",
      sourceRef: "refs/heads/main",
      entryPoint: ".github/workflows/release.yml",
      workflowRepository: "https://github.com/sigstore/sigstore-js",
      trigger: "push",
      invocationId: "https://github.com/sigstore/sigstore-js/actions/runs/5904696764/attempts/1",
      actor: null,
      materials: [{ uri: "git+https://github.com/sigstore/sigstore-js@refs/heads/main", digest: { gitCommit: "f0b49a04e5a62250e0f60fb128004a73110fe311" } }],
    });
    // The same attestation attached to another image fails the subject check.
    const other = randomDigest();
    const [moved] = verifyArtifacts({ image: { ...image, digest: other }, artifacts: [tagArtifact(other, "att", [layer])], trust: root, keys: [], now: NOW });
    expect(moved?.reasons.map((r) => r.code)).toEqual(["dsse-subject"]);
  });

  describe("the generated PKI is standard X.509 (openssl CLI cross-check)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "signet-pki-"));
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
    const hasOpenssl = (() => {
      try {
        execFileSync("openssl", ["version"]);
        return true;
      } catch {
        return false;
      }
    })();

    it.skipIf(!hasOpenssl)("openssl verifies the chain at integratedTime and rejects it after expiry", () => {
      fs.writeFileSync(path.join(dir, "ca.pem"), sigstore.ca.pem);
      fs.writeFileSync(path.join(dir, "leaf.pem"), good.pem);
      const verifyAt = (time: number) => {
        try {
          execFileSync("openssl", ["verify", "-CAfile", path.join(dir, "ca.pem"), "-attime", String(time), "-purpose", "any", path.join(dir, "leaf.pem")], { stdio: "pipe" });
          return true;
        } catch {
          return false;
        }
      };
      expect(verifyAt(t)).toBe(true);
      expect(verifyAt(t + 3600)).toBe(false);
      const text = execFileSync("openssl", ["x509", "-in", path.join(dir, "leaf.pem"), "-noout", "-text"]).toString();
      expect(text).toContain("Code Signing");
      expect(text).toContain("CT Precertificate SCTs");
      expect(text).toContain("1.3.6.1.4.1.57264.1.8");
    });
  });
});
