/** The small parsers for untrusted input, one by one. */
import fs from "node:fs";
import path from "node:path";
import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { describeKeylessSigner, parseCertificatePem, readSubjectAlternativeNames } from "@/lib/sigstore/certificate";
import { parseDsseEnvelope } from "@/lib/sigstore/dsse";
import { MalformedError } from "@/lib/sigstore/encoding";
import { describeStatement, findSubjectForDigest, parseStatement } from "@/lib/sigstore/in-toto";
import { extractProvenance } from "@/lib/sigstore/provenance";
import { parsePublicKey } from "@/lib/sigstore/public-key";
import { parseRekorBody, parseRekorBundleAnnotation, parseRfc3161Annotation } from "@/lib/sigstore/rekor";
import { parseSimpleSigningPayload } from "@/lib/sigstore/simple-signing";
import { parseSigstoreBundle } from "@/lib/sigstore/verify-bundle-layer";
import { dsseLayer, inTotoStatement, makeKey, randomDigest, simpleSigningPayload } from "../../support/sigstore-fixtures";
import { makeLeaf, makePrivateSigstore } from "../../support/sigstore-pki";
import { loadCase, vectorsAvailable, vectorsDir } from "../../support/sigstore-vectors";

const available = vectorsAvailable();
const malformed = (fn: () => unknown, message?: RegExp) => {
  expect(fn).toThrow(MalformedError);
  if (message) expect(fn).toThrow(message);
};

describe("parsePublicKey", () => {
  it.skipIf(!available)("fingerprints cosign.pub files as sha256 of the SPKI DER", () => {
    const c = loadCase("tobby-classic-key");
    expect(parsePublicKey(c.keyPem as string, "tobby")).toMatchObject({ keyId: "tobby", algorithm: "ecdsa-p256", fingerprint: c.expected.signer.keyFingerprint });
  });

  it("accepts PKCS#1 RSA public keys with the same fingerprint as their SPKI form", () => {
    const { publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const spki = parsePublicKey(publicKey.export({ type: "spki", format: "pem" }).toString());
    const pkcs1 = parsePublicKey(publicKey.export({ type: "pkcs1", format: "pem" }).toString());
    expect(pkcs1.fingerprint).toBe(spki.fingerprint);
    expect(pkcs1).toMatchObject({ algorithm: "rsa", bits: 2048 });
  });

  it("refuses private keys, certificates, several keys, weak RSA and other curves", () => {
    const key = makeKey();
    malformed(() => parsePublicKey(key.privateKey.export({ type: "pkcs8", format: "pem" }).toString()), /exactly one PUBLIC KEY/);
    malformed(() => parsePublicKey(makeLeaf({ ca: makePrivateSigstore().ca, ctlog: null, notBefore: new Date(0), notAfter: new Date(1e12), identity: { email: "a@b" } }).pem));
    malformed(() => parsePublicKey(key.pem + makeKey().pem), /exactly one/);
    malformed(() => parsePublicKey(generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey.export({ type: "spki", format: "pem" }).toString()), /too short/);
    malformed(() => parsePublicKey(generateKeyPairSync("ec", { namedCurve: "secp256k1" }).publicKey.export({ type: "spki", format: "pem" }).toString()), /unsupported curve/);
    malformed(() => parsePublicKey("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"), /unreadable/);
    malformed(() => parsePublicKey("x".repeat(100_000)), /too large/);
  });
});

describe("certificates", () => {
  const sigstore = makePrivateSigstore();
  const leaf = (identity: Parameters<typeof makeLeaf>[0]["identity"]) =>
    parseCertificatePem(makeLeaf({ ca: sigstore.ca, ctlog: null, notBefore: new Date(0), notAfter: new Date(1e12), identity, issuerV2: "https://issuer" }).pem);

  it("reads email, URI and Fulcio otherName (username) SANs", () => {
    expect(readSubjectAlternativeNames(leaf({ email: "a@example.com" }))).toEqual([{ type: "email", value: "a@example.com" }]);
    expect(readSubjectAlternativeNames(leaf({ uri: "https://x/y" }))).toEqual([{ type: "uri", value: "https://x/y" }]);
    expect(describeKeylessSigner(leaf({ otherName: "octocat" }))).toMatchObject({ identity: "octocat", identityType: "othername", issuer: "https://issuer" });
  });

  it("refuses PEM with zero or two certificates, and garbage", () => {
    malformed(() => parseCertificatePem(""), /exactly one/);
    malformed(() => parseCertificatePem(sigstore.ca.pem + sigstore.ca.pem), /exactly one/);
    malformed(() => parseCertificatePem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"), /unreadable/);
  });
});

describe("DSSE envelopes and in-toto statements", () => {
  const key = makeKey();
  const digest = randomDigest();

  it("parses cosign's envelope", () => {
    const statement = inTotoStatement(digest, "https://example/p");
    const env = parseDsseEnvelope(dsseLayer(statement, key).content);
    expect(env.payloadType).toBe("application/vnd.in-toto+json");
    expect(env.payload.equals(statement)).toBe(true);
    expect(env.signatures).toHaveLength(1);
  });

  it.each([
    ["no signatures", { payloadType: "t", payload: "e30=", signatures: [] }],
    ["payload not base64", { payloadType: "t", payload: "%%%", signatures: [{ sig: "AA==" }] }],
    ["payloadType missing", { payload: "e30=", signatures: [{ sig: "AA==" }] }],
    ["not an object", [1, 2]],
  ])("refuses an envelope with %s", (_n, json) => malformed(() => parseDsseEnvelope(Buffer.from(JSON.stringify(json)))));

  it("parses v0.1 and v1 statements and finds the subject for a digest", () => {
    for (const type of ["https://in-toto.io/Statement/v0.1", "https://in-toto.io/Statement/v1"]) {
      const s = parseStatement(inTotoStatement(digest, "https://example/p", {}, type));
      expect(s.type).toBe(type);
      expect(findSubjectForDigest(s, digest)).toBeDefined();
      expect(findSubjectForDigest(s, randomDigest())).toBeUndefined();
      expect(findSubjectForDigest(s, digest.toUpperCase())).toBeUndefined();
    }
  });

  it("refuses unknown statement types, empty subjects, missing predicateType", () => {
    malformed(() => parseStatement(Buffer.from(JSON.stringify({ _type: "https://in-toto.io/Statement/v2", predicateType: "p", subject: [{ digest: {} }] }))));
    malformed(() => parseStatement(Buffer.from(JSON.stringify({ _type: "https://in-toto.io/Statement/v1", predicateType: "p", subject: [] }))));
    malformed(() => parseStatement(Buffer.from(JSON.stringify({ _type: "https://in-toto.io/Statement/v1", subject: [{ digest: { sha256: "a" } }] }))));
  });

  it("keeps at most 16 subjects in the facts", () => {
    const subjects = Array.from({ length: 100 }, (_, i) => ({ name: `s${i}`, digest: { sha256: String(i) } }));
    const s = parseStatement(Buffer.from(JSON.stringify({ _type: "https://in-toto.io/Statement/v1", predicateType: "p", subject: subjects })));
    expect(describeStatement(s, digest).subjects).toHaveLength(16);
  });
});

describe("simple-signing payloads", () => {
  it("parses cosign's and c/image's payloads", () => {
    const digest = randomDigest();
    expect(parseSimpleSigningPayload(simpleSigningPayload(digest, "r/app", { a: "b" }))).toEqual({
      type: "cosign container image signature",
      dockerManifestDigest: digest,
      dockerReference: "r/app",
      optional: { a: "b" },
    });
    const cimage = `{"critical":{"identity":{"docker-reference":"r/app:tag"},"image":{"docker-manifest-digest":"${digest}"},"type":"cosign container image signature"},"optional":{"creator":"containers/image 5.25","timestamp":1}}`;
    expect(parseSimpleSigningPayload(Buffer.from(cimage)).optional).toEqual({ creator: "containers/image 5.25", timestamp: 1 });
  });

  it("refuses payloads without critical.image or with a non-object optional", () => {
    malformed(() => parseSimpleSigningPayload(Buffer.from('{"critical":{"type":"x"}}')));
    malformed(() => parseSimpleSigningPayload(Buffer.from('{"critical":{"type":"x","image":{"docker-manifest-digest":"d"}},"optional":"no"}')));
    malformed(() => parseSimpleSigningPayload(Buffer.from("not json")), /not JSON/);
  });
});

describe("Rekor material", () => {
  const annotation = (payload: Record<string, unknown>) => JSON.stringify({ SignedEntryTimestamp: "MEUCIQ==", Payload: { body: "e30=", integratedTime: 1, logIndex: 2, logID: "ab".repeat(32), ...payload } });

  it("parses the cosign RekorBundle annotation", () => {
    expect(parseRekorBundleAnnotation(annotation({}))).toMatchObject({ integratedTime: 1, logIndex: 2, logIdHex: "ab".repeat(32), body: "e30=" });
  });

  it.each([
    ["a fractional integratedTime", { integratedTime: 1.5 }],
    ["a negative logIndex", { logIndex: -1 }],
    ["an upper-case logID", { logID: "AB".repeat(32) }],
    ["a short logID", { logID: "ab" }],
    ["a non-base64 body", { body: "{}" }],
  ])("refuses %s", (_n, payload) => malformed(() => parseRekorBundleAnnotation(annotation(payload))));

  it("parses the RFC 3161 annotation", () => {
    expect(parseRfc3161Annotation('{"SignedRFC3161Timestamp":"MIIB"}')).toBe("MIIB");
    malformed(() => parseRfc3161Annotation('{"timestamp":"MIIB"}'));
  });

  it("extracts the signer named by each supported Rekor body kind", () => {
    const pem = Buffer.from("-----BEGIN PUBLIC KEY-----").toString("base64");
    const body = (kind: string, apiVersion: string, spec: unknown) => Buffer.from(JSON.stringify({ kind, apiVersion, spec }));
    expect(parseRekorBody(body("hashedrekord", "0.0.1", { signature: { publicKey: { content: pem } } })).verifiers).toHaveLength(1);
    expect(parseRekorBody(body("dsse", "0.0.1", { signatures: [{ verifier: pem }] })).verifiers).toHaveLength(1);
    expect(parseRekorBody(body("intoto", "0.0.2", { content: { envelope: { signatures: [{ publicKey: pem }] } } })).verifiers).toHaveLength(1);
    expect(parseRekorBody(body("hashedrekord", "0.0.2", { hashedRekordV002: { signature: { verifier: { publicKey: { rawBytes: "AAAA" } } } } })).verifiers).toEqual([
      { type: "der-key", der: Buffer.from("AAAA", "base64") },
    ]);
    expect(parseRekorBody(body("rekord", "0.0.1", {})).verifiers).toEqual([]);
    malformed(() => parseRekorBody(body("dsse", "0.0.1", { signatures: [] })));
  });
});

describe("Sigstore bundles", () => {
  it.skipIf(!available)("parses the cosign v3 bundle", () => {
    const c = loadCase("tobby-bundle-referrers");
    const bundle = parseSigstoreBundle(c.artifacts[0]?.layers[0]?.content as Buffer);
    expect(bundle.mediaType).toBe("application/vnd.dev.sigstore.bundle.v0.3+json");
    expect(bundle.content.$case).toBe("dsseEnvelope");
  });

  it("refuses bundles with both or neither content, or too many tlog entries", () => {
    const base = { mediaType: "application/vnd.dev.sigstore.bundle.v0.3+json", verificationMaterial: { publicKey: { hint: "x" }, tlogEntries: [] } };
    const dsse = { payload: "e30=", payloadType: "t", signatures: [{ sig: "AA==" }] };
    malformed(() => parseSigstoreBundle(Buffer.from(JSON.stringify(base))), /exactly one/);
    malformed(() => parseSigstoreBundle(Buffer.from(JSON.stringify({ ...base, dsseEnvelope: dsse, messageSignature: {} }))), /exactly one/);
    malformed(() => parseSigstoreBundle(Buffer.from(JSON.stringify({ ...base, verificationMaterial: { ...base.verificationMaterial, tlogEntries: Array(9).fill({}) }, dsseEnvelope: dsse }))));
    malformed(() => parseSigstoreBundle(Buffer.from(JSON.stringify({ ...base, mediaType: "application/json", dsseEnvelope: dsse }))));
  });
});

describe("provenance extraction", () => {
  it.skipIf(!available)("reads the SLSA v0.2 and v1 example statements", () => {
    const v02 = JSON.parse(fs.readFileSync(path.join(vectorsDir, "statements/slsa-provenance-v0.2.unsigned.json"), "utf8"));
    expect(extractProvenance(v02.predicateType, v02.predicate)).toMatchObject({ slsaVersion: "v0.2", sourceCommit: "4d329c75e7ec1725f7c9ce917a8799d408d06be3", trigger: "workflow_dispatch" });
    const v1 = JSON.parse(fs.readFileSync(path.join(vectorsDir, "statements/slsa-provenance-v1.unsigned.json"), "utf8"));
    expect(extractProvenance(v1.predicateType, v1.predicate)).toMatchObject({ slsaVersion: "v1", builderId: "https://github.com/actions/runner/github-hosted", trigger: "push" });
  });

  it("returns null for other predicates and nulls for odd shapes", () => {
    expect(extractProvenance("https://spdx.dev/Document", {})).toBeNull();
    expect(extractProvenance("https://slsa.dev/provenance/v1", [1, 2, 3])).toMatchObject({ builderId: null, materials: [] });
    expect(extractProvenance("https://slsa.dev/provenance/v0.2", { builder: { id: 5 }, materials: "x" })).toMatchObject({ builderId: null, materials: [] });
  });
});
