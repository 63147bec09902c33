/**
 * Single mutations of the positive real vectors — signature, SET, payload, statement, certificate,
 * inclusion proof, checkpoint, TSA token, integratedTime, logIndex, swapped certificates — must never
 * leave a valid evidence. Untouched controls must stay valid.
 */
import { describe, expect, it } from "vitest";
import type { DiscoveredArtifact, DiscoveredLayer } from "@/lib/evidence/types";
import { loadPublicGoodTrustRoot } from "@/lib/sigstore/trusted-root";
import type { ReasonCode } from "@/lib/sigstore/types";
import { verifyArtifacts } from "@/lib/sigstore/verify-artifacts";
import { cloneArtifacts, derToPem, editJsonAnnotation, editJsonContent, flip, flipB64, pemToDer, setContent } from "../../support/sigstore-mutate";
import { loadCase, vectorsAvailable } from "../../support/sigstore-vectors";

const available = vectorsAvailable();
const NOW = new Date("2026-11-25T00:00:00Z");
const SIG = "dev.cosignproject.cosign/signature";
const CERT = "dev.sigstore.cosign/certificate";
const BUNDLE = "dev.sigstore.cosign/bundle";

/** `reasons`: at least one of these codes must be reported (which one depends on the check order). */
type Mutation = [description: string, mutate: (layer: DiscoveredLayer, artifacts: DiscoveredArtifact[]) => void, reasons?: ReasonCode[]];

function run(name: string, artifacts: DiscoveredArtifact[]) {
  const c = loadCase(name);
  return verifyArtifacts({ image: c.image, artifacts, trust: loadPublicGoodTrustRoot(), keys: c.keyPem ? [{ keyId: "k", pem: c.keyPem }] : [], now: NOW });
}

/** The layer that verifies in the unmutated case. */
function targetLayer(name: string, artifacts: DiscoveredArtifact[]): DiscoveredLayer {
  const index = name === "connaisseur-multisig-key" ? 2 : 0;
  return artifacts[0]?.layers[index] as DiscoveredLayer;
}

const classicPayload: Mutation[] = [
  ["signature: last DER byte flipped", (l) => (l.annotations[SIG] = flipB64(l.annotations[SIG] as string)), ["signature", "tlog-body-mismatch"]],
  ["signature: first r byte flipped", (l) => (l.annotations[SIG] = flipB64(l.annotations[SIG] as string, 5, 0x80)), ["signature", "tlog-body-mismatch"]],
  ["payload: one byte flipped (digest recomputed)", (l) => setContent(l, flip(l.content as Buffer, 40)), ["signature", "tlog-body-mismatch"]],
  ["payload: trailing newline appended", (l) => setContent(l, Buffer.concat([l.content as Buffer, Buffer.from("\n")])), ["signature", "tlog-body-mismatch"]],
  ["payload: bytes replaced but descriptor digest kept", (l) => (l.content = flip(l.content as Buffer, 10)), ["layer-digest"]],
  ["signature annotation removed", (l) => delete l.annotations[SIG], ["malformed"]],
];

const rekorMutations: Mutation[] = [
  ["SET: last byte flipped", (l) => editJsonAnnotation(l, BUNDLE, (j) => (j.SignedEntryTimestamp = flipB64(j.SignedEntryTimestamp))), ["tlog-set"]],
  ["integratedTime + 1", (l) => editJsonAnnotation(l, BUNDLE, (j) => (j.Payload.integratedTime += 1))],
  ["integratedTime - 3600", (l) => editJsonAnnotation(l, BUNDLE, (j) => (j.Payload.integratedTime -= 3600))],
  ["logIndex + 1", (l) => editJsonAnnotation(l, BUNDLE, (j) => (j.Payload.logIndex += 1)), ["tlog-set"]],
  ["logID flipped (unknown log)", (l) => editJsonAnnotation(l, BUNDLE, (j) => (j.Payload.logID = flip(Buffer.from(j.Payload.logID, "hex"), 0).toString("hex"))), ["tlog-set"]],
  ["body byte flipped", (l) => editJsonAnnotation(l, BUNDLE, (j) => (j.Payload.body = flipB64(j.Payload.body, 30, 0x02)))],
];

const keylessMutations: Mutation[] = [
  ["certificate: TBS byte flipped (serial)", (l) => (l.annotations[CERT] = derToPem(flip(pemToDer(l.annotations[CERT] as string), 20)))],
  ["certificate: TBS byte flipped (public key)", (l) => (l.annotations[CERT] = derToPem(flip(pemToDer(l.annotations[CERT] as string), 260)))],
  ["certificate: signature byte flipped", (l) => (l.annotations[CERT] = derToPem(flip(pemToDer(l.annotations[CERT] as string))))],
  ["Rekor bundle removed: the certificate is checked at now and has expired", (l) => delete l.annotations[BUNDLE], ["cert-expired-at-integrated-time"]],
];

function swapCertificate(from: string): Mutation {
  return [
    `certificate swapped with ${from}'s`,
    (l) => {
      const other = loadCase(from).artifacts[0]?.layers[0]?.annotations[CERT] as string;
      l.annotations[CERT] = other;
    },
  ];
}

const dsseMutations: Mutation[] = [
  ["statement: builder id edited", (l) => editJsonContent(l, (j) => (j.payload = Buffer.from(Buffer.from(j.payload, "base64").toString().replace("slsa3.yml", "slsa4.yml")).toString("base64"))), ["signature", "tlog-body-mismatch"]],
  ["statement: subject digest edited", (l) => editJsonContent(l, (j) => (j.payload = Buffer.from(Buffer.from(j.payload, "base64").toString().replace("234e2c83", "234e2c84")).toString("base64")))],
  ["envelope signature flipped", (l) => editJsonContent(l, (j) => (j.signatures[0].sig = flipB64(j.signatures[0].sig))), ["signature", "tlog-body-mismatch"]],
  ["payloadType changed", (l) => editJsonContent(l, (j) => (j.payloadType = "application/json"))],
  ["predicateType annotation changed", (l) => (l.annotations.predicateType = "https://slsa.dev/provenance/v1"), ["predicate-type-mismatch"]],
];

const bundleMutations: Mutation[] = [
  ["DSSE signature flipped", (l) => editJsonContent(l, (j) => (j.dsseEnvelope.signatures[0].sig = flipB64(j.dsseEnvelope.signatures[0].sig)))],
  ["statement edited (predicateType)", (l) => editJsonContent(l, (j) => (j.dsseEnvelope.payload = Buffer.from(Buffer.from(j.dsseEnvelope.payload, "base64").toString().replace("sign/v1", "sign/v2")).toString("base64")))],
  ["SET flipped", (l) => editJsonContent(l, (j) => (j.verificationMaterial.tlogEntries[0].inclusionPromise.signedEntryTimestamp = flipB64(j.verificationMaterial.tlogEntries[0].inclusionPromise.signedEntryTimestamp))), ["tlog-set"]],
  ["inclusion proof hash flipped", (l) => editJsonContent(l, (j) => (j.verificationMaterial.tlogEntries[0].inclusionProof.hashes[0] = flipB64(j.verificationMaterial.tlogEntries[0].inclusionProof.hashes[0], 3))), ["tlog-inclusion"]],
  ["inclusion proof root hash flipped", (l) => editJsonContent(l, (j) => (j.verificationMaterial.tlogEntries[0].inclusionProof.rootHash = flipB64(j.verificationMaterial.tlogEntries[0].inclusionProof.rootHash, 3))), ["tlog-inclusion"]],
  ["inclusion proof tree size + 1", (l) => editJsonContent(l, (j) => (j.verificationMaterial.tlogEntries[0].inclusionProof.treeSize = String(BigInt(j.verificationMaterial.tlogEntries[0].inclusionProof.treeSize) + 1n))), ["tlog-inclusion"]],
  ["checkpoint note edited", (l) => editJsonContent(l, (j) => {
    const cp = j.verificationMaterial.tlogEntries[0].inclusionProof.checkpoint;
    cp.envelope = cp.envelope.replace(/\n(\d)/, (_: string, d: string) => `\n${(Number(d) + 1) % 10}`);
  }), ["tlog-inclusion"]],
  ["checkpoint signature flipped", (l) => editJsonContent(l, (j) => {
    const cp = j.verificationMaterial.tlogEntries[0].inclusionProof.checkpoint;
    cp.envelope = cp.envelope.replace(/ (\S+)\n$/, (_: string, sig: string) => ` ${flipB64(sig)}\n`);
  }), ["tlog-inclusion"]],
  ["integratedTime + 1", (l) => editJsonContent(l, (j) => (j.verificationMaterial.tlogEntries[0].integratedTime = String(Number(j.verificationMaterial.tlogEntries[0].integratedTime) + 1)))],
  ["logIndex + 1", (l) => editJsonContent(l, (j) => (j.verificationMaterial.tlogEntries[0].logIndex = String(Number(j.verificationMaterial.tlogEntries[0].logIndex) + 1))), ["tlog-set"]],
  ["canonicalized body flipped", (l) => editJsonContent(l, (j) => (j.verificationMaterial.tlogEntries[0].canonicalizedBody = flipB64(j.verificationMaterial.tlogEntries[0].canonicalizedBody, 40, 0x02)))],
  ["kindVersion changed", (l) => editJsonContent(l, (j) => (j.verificationMaterial.tlogEntries[0].kindVersion.version = "0.0.2"))],
  ["TSA token signature flipped", (l) => editJsonContent(l, (j) => {
    const ts = j.verificationMaterial.timestampVerificationData.rfc3161Timestamps[0];
    ts.signedTimestamp = flipB64(ts.signedTimestamp);
  }), ["timestamp"]],
  ["payloadType changed", (l) => editJsonContent(l, (j) => (j.dsseEnvelope.payloadType = "text/plain"))],
  ["replaced by a message signature over the image digest", (l) => editJsonContent(l, (j) => {
    delete j.dsseEnvelope;
    j.messageSignature = { messageDigest: { algorithm: "SHA2_256", digest: Buffer.alloc(32, 1).toString("base64") }, signature: "MEUCIQ==" };
  }), ["unsupported"]],
  ["second DSSE signature added", (l) => editJsonContent(l, (j) => j.dsseEnvelope.signatures.push(j.dsseEnvelope.signatures[0])), ["malformed"]],
];

const plan: Array<[string, Mutation[]]> = [
  ["tobby-classic-key", classicPayload],
  ["cimage-key-nolog", classicPayload],
  ["connaisseur-multisig-key", classicPayload],
  ["cimage-key-rekor", [...classicPayload, ...rekorMutations]],
  ["cimage-keyless-rekor", [...classicPayload, ...rekorMutations, ...keylessMutations, swapCertificate("salrashid-keyless-rekor")]],
  ["salrashid-keyless-rekor", [...classicPayload, ...rekorMutations, ...keylessMutations, swapCertificate("cimage-keyless-rekor")]],
  ["slsa-generator-container-att", [...dsseMutations, ...rekorMutations, ...keylessMutations, swapCertificate("salrashid-keyless-rekor")]],
  ["tobby-bundle-referrers", bundleMutations],
];

describe.skipIf(!available)("mutations of the positive vectors", () => {
  describe.each(plan)("%s", (name, mutations) => {
    it("control: unmutated copy verifies", () => {
      const artifacts = cloneArtifacts(loadCase(name).artifacts);
      expect(run(name, artifacts).filter((e) => e.status === "valid")).toHaveLength(1);
    });

    it.each(mutations.map((m) => [m[0], m] as const))("%s → never valid", (_d, [, mutate, reasons]) => {
      const artifacts = cloneArtifacts(loadCase(name).artifacts);
      mutate(targetLayer(name, artifacts), artifacts);
      const evidence = run(name, artifacts);
      expect(evidence.filter((e) => e.status === "valid")).toEqual([]);
      const target = evidence[name === "connaisseur-multisig-key" ? 2 : 0];
      expect(target?.status).not.toBe("valid");
      if (reasons) expect(target?.reasons.some((r) => reasons.includes(r.code))).toBe(true);
    });
  });

  it("a bundle stripped of its tlog entry stays valid with tlog: null (requireTlog is the policy's call)", () => {
    const artifacts = cloneArtifacts(loadCase("tobby-bundle-referrers").artifacts);
    editJsonContent(targetLayer("tobby-bundle-referrers", artifacts), (j) => (j.verificationMaterial.tlogEntries = []));
    const [e] = run("tobby-bundle-referrers", artifacts);
    expect(e?.status).toBe("valid");
    expect(e?.tlog).toBeNull();
    expect(e?.timestamps).toEqual([{ time: "2026-08-12T20:53:28.000Z", verified: true }]);
  });

  it("the untrusted chain annotation is ignored: removing it changes nothing", () => {
    const artifacts = cloneArtifacts(loadCase("cimage-keyless-rekor").artifacts);
    delete targetLayer("cimage-keyless-rekor", artifacts).annotations["dev.sigstore.cosign/chain"];
    expect(run("cimage-keyless-rekor", artifacts)[0]?.status).toBe("valid");
  });

  it("a keyless layer verified against a root without its CA fails the chain", () => {
    const c = loadCase("cimage-keyless-rekor");
    const root = loadPublicGoodTrustRoot();
    const noCas = { ...root, id: "no-ca", material: { ...root.material, certificateAuthorities: [] } };
    const [e] = verifyArtifacts({ image: c.image, artifacts: c.artifacts, trust: noCas, keys: [], now: NOW });
    expect(e?.status).toBe("invalid");
    expect(e?.reasons.map((r) => r.code)).toEqual(["cert-chain"]);
  });

  it("a keyless layer verified against a root without CT logs fails the SCT check", () => {
    const c = loadCase("salrashid-keyless-rekor");
    const root = loadPublicGoodTrustRoot();
    const noCt = { ...root, id: "no-ct", material: { ...root.material, ctlogs: [] } };
    const [e] = verifyArtifacts({ image: c.image, artifacts: c.artifacts, trust: noCt, keys: [], now: NOW });
    expect(e?.reasons.map((r) => r.code)).toEqual(["sct"]);
  });

  it("a Rekor entry is useless without a trusted log key", () => {
    const c = loadCase("cimage-key-rekor");
    const root = loadPublicGoodTrustRoot();
    const noLogs = { ...root, id: "no-logs", material: { ...root.material, tlogs: [] } };
    const [e] = verifyArtifacts({ image: c.image, artifacts: c.artifacts, trust: noLogs, keys: [{ keyId: "k", pem: c.keyPem as string }], now: NOW });
    expect(e?.reasons.map((r) => r.code)).toEqual(["tlog-set"]);
    const [none] = verifyArtifacts({ image: c.image, artifacts: c.artifacts, trust: [], keys: [{ keyId: "k", pem: c.keyPem as string }], now: NOW });
    expect(none?.status).toBe("invalid");
  });
});
