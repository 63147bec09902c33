/**
 * Every case of the shared signature vectors (real cosign data), verified from the case files, with the
 * exact signer / Rekor / provenance facts expected.json records. Evidence-level failures (signature,
 * payload-digest, tlog-set, dsse-subject) must make the evidence invalid with that reason; policy-level
 * failures (tlog-missing, identity, issuer, predicate-type) must leave the facts a policy needs.
 */
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { parsePublicKey } from "@/lib/sigstore/public-key";
import { loadPublicGoodTrustRoot, parseTrustedRoot } from "@/lib/sigstore/trusted-root";
import type { VerifiedEvidence } from "@/lib/sigstore/types";
import { verifyArtifacts } from "@/lib/sigstore/verify-artifacts";
import { listCases, loadCase, trustedRootPath, vectorsAvailable, type ExpectedCase, type VectorCase } from "../../support/sigstore-vectors";

const available = vectorsAvailable();
const NOW = new Date("2026-11-25T00:00:00Z");

function verifyCase(c: VectorCase, keyPem = c.keyPem): VerifiedEvidence[] {
  const trust = parseTrustedRoot(fs.readFileSync(trustedRootPath()), { id: "vectors-root" });
  return verifyArtifacts({ image: c.image, artifacts: c.artifacts, trust, keys: keyPem ? [{ keyId: "policy-key", pem: keyPem }] : [], now: NOW });
}

/**
 * A minimal reference policy over the facts (lib/policy owns the real one): shows the evidence carries
 * everything the expected verdicts depend on.
 */
function referenceVerdict(evidence: VerifiedEvidence[], policy: ExpectedCase["policy"], keyPem: string | null): "verified" | "failed" {
  const keyFingerprint = keyPem ? parsePublicKey(keyPem).fingerprint : null;
  const satisfied = evidence.some((e) => {
    if (e.status !== "valid") return false;
    const signerOk =
      policy.type === "key"
        ? e.matchedKeys.some((k) => k.fingerprint === keyFingerprint)
        : e.signer?.kind === "keyless" && e.signer.identity === policy.certificateIdentity && e.signer.issuer === policy.certificateOidcIssuer;
    const tlogOk = !policy.requireTlog || (e.tlog !== null && (e.tlog.verifiedSet || e.tlog.verifiedInclusionProof));
    const predicateOk = !policy.predicateType || e.predicateType === policy.predicateType;
    return signerOk && tlogOk && predicateOk;
  });
  return satisfied ? "verified" : "failed";
}

function expectSignerFacts(e: VerifiedEvidence, expected: ExpectedCase) {
  if (expected.policy.type === "key") {
    expect(e.signer).toMatchObject({ kind: "key", fingerprint: expected.signer.keyFingerprint, keyId: "policy-key", algorithm: "ecdsa-p256" });
    expect(e.matchedKeys.map((k) => k.fingerprint)).toEqual([expected.signer.keyFingerprint]);
  } else {
    expect(e.signer).toMatchObject({
      kind: "keyless",
      identity: expected.signer.identity,
      issuer: expected.signer.oidcIssuer,
      certificate: {
        serialNumber: expected.signer.serialNumber,
        notBefore: expected.signer.notBefore,
        notAfter: expected.signer.notAfter,
        issuerDN: expected.signer.issuerDN,
      },
    });
    const san = String(expected.signer.subjectAlternativeName);
    expect(e.signer?.kind === "keyless" && e.signer.identityType).toBe(san.startsWith("email:") ? "email" : "uri");
    if (e.signer?.kind === "keyless") {
      expect(e.signer.extensions.issuerV1).toBe(expected.signer.oidcIssuerV1_1_1 ?? null);
      expect(e.signer.extensions.issuerV2).toBe(expected.signer.oidcIssuerV2_1_8 ?? null);
      expect(e.signer.issuerSource).toBe(expected.signer.oidcIssuerV2_1_8 ? "1.3.6.1.4.1.57264.1.8" : "1.3.6.1.4.1.57264.1.1");
      expect(e.checkedAt).toEqual([{ source: "tlog", time: expected.rekor?.integratedTimeISO }]);
    }
  }
}

function expectRekorFacts(e: VerifiedEvidence, expected: ExpectedCase, verified: boolean) {
  if (expected.rekor === null) {
    expect(e.tlog).toBeNull();
    return;
  }
  expect(e.tlog).toMatchObject({
    logIndex: expected.rekor.logIndex,
    integratedTime: expected.rekor.integratedTime,
    integratedTimeISO: expected.rekor.integratedTimeISO,
    logId: expected.rekor.logID,
    kind: expected.rekor.entryKind,
    kindVersion: expected.rekor.entryApiVersion,
    verifiedSet: verified,
    logUrl: "https://rekor.sigstore.dev",
  });
  if (expected.rekor.inclusionProofLogIndex !== undefined) {
    expect(e.tlog?.inclusionProof).toEqual({ logIndex: expected.rekor.inclusionProofLogIndex, treeSize: expected.rekor.treeSize });
    expect(e.tlog?.verifiedInclusionProof).toBe(verified);
  } else {
    expect(e.tlog?.inclusionProof).toBeNull();
    expect(e.tlog?.verifiedInclusionProof).toBe(false);
  }
}

describe("locating the vectors", () => {
  it("skips when the folder is missing locally, and fails under CI", () => {
    expect(vectorsAvailable("/nonexistent/vectors", "")).toBe(false);
    expect(() => vectorsAvailable("/nonexistent/vectors", "true")).toThrow(/CI requires them/);
  });
});

describe.skipIf(!available)("shared signature vectors", () => {
  const cases = available ? listCases() : [];

  it("has the 17 documented cases", () => {
    expect(cases).toHaveLength(17);
  });

  describe.each(cases.map((c) => [c.name, c] as const))("%s", (name) => {
    const c = loadCase(name);
    const evidence = verifyCase(c);

    it("yields one evidence per signature layer, never throwing", () => {
      const layers = c.artifacts.reduce((n, a) => n + a.layers.length, 0);
      expect(evidence).toHaveLength(layers);
      for (const e of evidence) {
        expect(e.image.digest).toBe(c.index.digest);
        expect(e.status === "valid").toBe(e.reasons.length === 0);
      }
    });

    it("matches the expected verdict under a reference policy built from expected.json", () => {
      expect(referenceVerdict(evidence, c.expected.policy, c.keyPem)).toBe(c.expected.verdict);
    });

    if (c.expected.verdict === "verified") {
      it("verifies with the exact signer and transparency-log facts", () => {
        const valid = evidence.filter((e) => e.status === "valid");
        expect(valid).toHaveLength(1);
        const e = valid[0] as VerifiedEvidence;
        if (c.expected.signer.matchingLayerIndex !== undefined) expect(e.origin.layerIndex).toBe(c.expected.signer.matchingLayerIndex);
        expectSignerFacts(e, c.expected);
        expectRekorFacts(e, c.expected, true);
        expect(e.trustRootId).toBe(c.expected.rekor ? "vectors-root" : null);
        expect(e.kind).toBe(c.index.scheme === "tag-sig" ? "signature" : c.index.scheme === "tag-att" ? "attestation" : "bundle");
      });
    }

    switch (c.expected.failsAt) {
      case "signature":
        it("is invalid: the signature does not verify with the policy key", () => {
          for (const e of evidence) {
            expect(e.status).toBe("invalid");
            expect(e.reasons.map((r) => r.code)).toEqual(expect.arrayContaining(["signature", "no-matching-key"]));
            expect(e.signer).toBeNull();
          }
          // The same bytes verify with the signer's real key: only the key or the signature is at fault.
          const base = loadCase(String(c.index.derivedFrom));
          const withRealKey = verifyCase(c, base.keyPem);
          const realKeyVerifies = withRealKey.some((e) => e.status === "valid");
          expect(realKeyVerifies).toBe(name.includes("wrong-key"));
        });
        break;
      case "payload-digest":
        it("is invalid with payload-digest, although the signature verifies", () => {
          const [e] = evidence as [VerifiedEvidence];
          expect(e.status).toBe("invalid");
          expect(e.reasons.map((r) => r.code)).toEqual(["payload-digest"]);
          expectSignerFacts(e, c.expected);
        });
        break;
      case "tlog-set":
        it("is invalid with tlog-set, the SET not verified", () => {
          const [e] = evidence as [VerifiedEvidence];
          expect(e.status).toBe("invalid");
          expect(e.reasons.map((r) => r.code)).toEqual(["tlog-set"]);
          expectSignerFacts(e, c.expected);
          expectRekorFacts(e, c.expected, false);
        });
        break;
      case "dsse-subject":
        it("is invalid with dsse-subject, although bundle, tlog and TSA verify", () => {
          const [e] = evidence as [VerifiedEvidence];
          expect(e.status).toBe("invalid");
          expect(e.reasons.map((r) => r.code)).toEqual(["dsse-subject"]);
          expectSignerFacts(e, c.expected);
          expectRekorFacts(e, c.expected, true);
          expect(e.statement?.subjects.map((s) => s.digest.sha256)).not.toContain(c.index.digest.slice(7));
        });
        break;
      case "tlog-missing":
        it("is valid evidence with no tlog entry: the policy's requireTlog decides", () => {
          const [e] = evidence as [VerifiedEvidence];
          expect(e.status).toBe("valid");
          expect(e.tlog).toBeNull();
          expect(c.expected.policy.requireTlog).toBe(true);
          expectSignerFacts(e, c.expected);
        });
        break;
      case "identity":
      case "issuer":
        it(`is valid evidence whose ${c.expected.failsAt} differs from the policy's`, () => {
          const [e] = evidence as [VerifiedEvidence];
          expect(e.status).toBe("valid");
          expectSignerFacts(e, c.expected);
          if (e.signer?.kind !== "keyless") throw new Error("expected keyless");
          if (c.expected.failsAt === "identity") {
            expect(e.signer.identity).not.toBe(c.expected.policy.certificateIdentity);
            expect(e.signer.issuer).toBe(c.expected.policy.certificateOidcIssuer);
          } else {
            expect(e.signer.issuer).not.toBe(c.expected.policy.certificateOidcIssuer);
            expect(e.signer.identity).toBe(c.expected.policy.certificateIdentity);
          }
        });
        break;
      case "predicate-type":
        it("is a valid attestation of another predicate type", () => {
          const [e] = evidence as [VerifiedEvidence];
          expect(e.status).toBe("valid");
          expect(e.predicateType).toBe("https://slsa.dev/provenance/v0.2");
          expect(e.predicateType).not.toBe(c.expected.policy.predicateType);
        });
        break;
      default:
        break;
    }
  });

  it("connaisseur: alice and bob layers fail, charlie's verifies; all three count with all three keys", () => {
    const c = loadCase("connaisseur-multisig-key");
    const evidence = verifyCase(c);
    expect(evidence.map((e) => e.status)).toEqual(["invalid", "invalid", "valid"]);
    expect(evidence[0]?.reasons.map((r) => r.code)).toEqual(["signature", "no-matching-key"]);
  });

  it("tobby bundle: RFC 3161 time, statement header and cosign sign/v1 predicate", () => {
    const c = loadCase("tobby-bundle-referrers");
    const [e] = verifyCase(c) as [VerifiedEvidence];
    expect(e.timestamps).toEqual(c.expected.timestamps?.rfc3161.map((time) => ({ time, verified: true })));
    expect(e.statement).toMatchObject({ type: c.expected.statement?._type, predicateType: c.expected.statement?.predicateType, subjectAnnotations: {} });
    expect(e.predicateType).toBe("https://sigstore.dev/cosign/sign/v1");
    expect(e.signer?.kind === "key" && e.signer.hint).toBe(c.expected.signer.publicKeyHint);
    expect(e.provenance).toBeNull();
    expect(e.origin).toMatchObject({ source: "referrers-tag", manifestDigest: "sha256:aa34dbe1db5336a0a85e4cc7eced2f5dc91f0062322972fe29c4002372a7adff" });
  });

  it("slsa generator: SLSA v0.2 provenance facts", () => {
    const c = loadCase("slsa-generator-container-att");
    const [e] = verifyCase(c) as [VerifiedEvidence];
    const p = c.expected.provenance as Record<string, unknown> & { metadata: { buildInvocationId: string } };
    expect(e.statement?.type).toBe(p.statementType);
    expect(e.statement?.subjects).toEqual(p.subject);
    expect(e.provenance).toEqual({
      slsaVersion: "v0.2",
      builderId: p.builderId,
      buildType: p.buildType,
      sourceRepository: p.sourceRepository,
      sourceCommit: p.sourceCommit,
      sourceRef: p.ref,
      entryPoint: p.entryPoint,
      workflowRepository: null,
      trigger: p.triggerEvent,
      invocationId: p.metadata.buildInvocationId,
      actor: p.actor,
      materials: p.materials,
    });
    if (e.signer?.kind !== "keyless") throw new Error("expected keyless");
    // Fulcio GitHub extensions of the generator's certificate
    expect(e.signer.extensions.sourceRepositoryUri).toBe("https://github.com/slsa-framework/example-package");
    expect(e.signer.extensions.sourceRepositoryDigest).toBe(p.sourceCommit);
    expect(e.signer.extensions.buildTrigger).toBe("workflow_dispatch");
    expect(e.signer.extensions.buildSignerUri).toBe(p.builderId);
    expect(e.signer.extensions.githubWorkflowSha).toBe(p.sourceCommit);
  });

  it("the public-good root shipped in @sigstore/tuf gives the same results as the vectors' root file", () => {
    for (const c of cases) {
      const v = loadCase(c.name);
      const a = verifyCase(v).map((e) => [e.status, e.reasons.map((r) => r.code)]);
      const b = verifyArtifacts({
        image: v.image,
        artifacts: v.artifacts,
        trust: loadPublicGoodTrustRoot(),
        keys: v.keyPem ? [{ keyId: "policy-key", pem: v.keyPem }] : [],
        now: NOW,
      }).map((e) => [e.status, e.reasons.map((r) => r.code)]);
      expect(b).toEqual(a);
    }
  });
});
