/**
 * Legacy .att layers logged as Rekor `intoto 0.0.1` (older cosign attest): sigstore-js does not support
 * that kind, so the SET and body binding are checked by lib/sigstore/legacy-intoto.ts.
 */
import { describe, expect, it } from "vitest";
import { parseTrustedRoot } from "@/lib/sigstore/trusted-root";
import type { VerifiedEvidence } from "@/lib/sigstore/types";
import { verifyArtifacts } from "@/lib/sigstore/verify-artifacts";
import { dsseLayer, inTotoStatement, intotoV001Body, makeKey, randomDigest, rekorBundleAnnotation, tagArtifact, type TestKey } from "../../support/sigstore-fixtures";
import { editJsonAnnotation, flipB64 } from "../../support/sigstore-mutate";
import { makeLeaf, makePrivateSigstore } from "../../support/sigstore-pki";

const sigstore = makePrivateSigstore();
const root = parseTrustedRoot(sigstore.trustedRootJson, { id: "private" });
const T = new Date("2024-03-01T08:00:00Z");
const t = T.getTime() / 1000;
const predicateType = "https://slsa.dev/provenance/v0.2";
const leaf = makeLeaf({ ca: sigstore.ca, ctlog: sigstore.ctlog, notBefore: new Date(T.getTime() - 60_000), notAfter: new Date(T.getTime() + 540_000), identity: { email: "ci@signet.test" }, issuerV1: "https://issuer.test" });

function attestation(opts: { signer?: TestKey; verifierPem?: string; hashedEnvelope?: Buffer; hashedStatement?: Buffer; integratedTime?: number } = {}) {
  const digest = randomDigest();
  const statement = inTotoStatement(digest, predicateType, { builder: { id: "https://builder" } });
  const signer = opts.signer ?? leaf.key;
  const layer = dsseLayer(statement, signer, opts.signer ? {} : { "dev.sigstore.cosign/certificate": leaf.pem }, predicateType);
  layer.annotations["dev.sigstore.cosign/bundle"] = rekorBundleAnnotation({
    body: intotoV001Body(opts.hashedEnvelope ?? layer.content, opts.hashedStatement ?? statement, opts.verifierPem ?? leaf.pem),
    integratedTime: opts.integratedTime ?? t,
    logIndex: 3,
    log: sigstore.rekor,
  });
  return { digest, artifact: tagArtifact(digest, "att", [layer]) };
}

function verify(a: ReturnType<typeof attestation>, keys: { keyId: string; pem: string }[] = []): VerifiedEvidence {
  const [e] = verifyArtifacts({ image: { registry: "r", repository: "x", digest: a.digest }, artifacts: [a.artifact], trust: [root], keys, now: new Date("2026-11-25T00:00:00Z") });
  return e as VerifiedEvidence;
}
const codes = (e: VerifiedEvidence) => e.reasons.map((r) => r.code);

describe("intoto 0.0.1 Rekor entries", () => {
  it("verifies a keyless legacy attestation: SET, envelope and payload hashes, certificate at integratedTime", () => {
    const e = verify(attestation());
    expect(codes(e)).toEqual([]);
    expect(e.tlog).toMatchObject({ kind: "intoto", kindVersion: "0.0.1", verifiedSet: true, logIndex: 3, integratedTime: t });
    expect(e.checkedAt).toEqual([{ source: "tlog", time: T.toISOString() }]);
    expect(e.trustRootId).toBe("private");
    expect(e.predicateType).toBe(predicateType);
  });

  it("verifies a key-based one", () => {
    const key = makeKey();
    const e = verify(attestation({ signer: key, verifierPem: key.pem }), [{ keyId: "k", pem: key.pem }]);
    expect(codes(e)).toEqual([]);
    expect(e.tlog?.verifiedSet).toBe(true);
  });

  it("refuses a tampered SET, integratedTime or logIndex", () => {
    const tamper = (edit: (j: any) => void) => {
      const a = attestation();
      editJsonAnnotation(a.artifact.layers[0]!, "dev.sigstore.cosign/bundle", edit);
      return verify(a);
    };
    expect(codes(tamper((j) => (j.SignedEntryTimestamp = flipB64(j.SignedEntryTimestamp))))).toEqual(["tlog-set"]);
    expect(codes(tamper((j) => (j.Payload.logIndex += 1)))).toEqual(["tlog-set"]);
    expect(codes(tamper((j) => (j.Payload.integratedTime += 1)))).toEqual(["tlog-set"]);
    const e = tamper((j) => (j.Payload.integratedTime += 3600));
    expect(e.status).toBe("invalid");
    expect(e.tlog?.verifiedSet).toBe(false);
  });

  it("refuses an entry that hashes another envelope or payload, or names another signer", () => {
    expect(codes(verify(attestation({ hashedEnvelope: Buffer.from("{}") })))).toEqual(["tlog-body-mismatch"]);
    expect(codes(verify(attestation({ hashedStatement: Buffer.from("{}") })))).toEqual(["tlog-body-mismatch"]);
    const other = makeLeaf({ ca: sigstore.ca, ctlog: sigstore.ctlog, notBefore: new Date(T.getTime() - 60_000), notAfter: new Date(T.getTime() + 540_000), identity: { email: "x@signet.test" } });
    expect(codes(verify(attestation({ verifierPem: other.pem })))).toEqual(["tlog-body-mismatch"]);
  });

  it("refuses an entry from a log that is not in the trusted root", () => {
    const a = attestation();
    const [e] = verifyArtifacts({ image: { registry: "r", repository: "x", digest: a.digest }, artifacts: [a.artifact], trust: [], keys: [], now: new Date() });
    expect(e?.status).toBe("invalid");
  });
});
