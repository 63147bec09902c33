/**
 * Key-based cosign signatures generated in memory: every supported key type, several candidate keys
 * (K-of-N needs distinct signers), local Rekor entries, legacy DSSE attestations, and the ways a
 * layer can be unusable.
 */
import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { DiscoveredArtifact } from "@/lib/evidence/types";
import { parseTrustedRoot } from "@/lib/sigstore/trusted-root";
import type { PublicKeyCandidate, VerifiedEvidence } from "@/lib/sigstore/types";
import { verifyArtifacts } from "@/lib/sigstore/verify-artifacts";
import {
  classicLayer,
  dsseBody,
  dsseLayer,
  hashedRekordBody,
  inTotoStatement,
  makeKey,
  randomDigest,
  rekorBundleAnnotation,
  signBytes,
  SIMPLE_SIGNING,
  simpleSigningPayload,
  tagArtifact,
  type KeyKind,
} from "../../support/sigstore-fixtures";
import { makePrivateSigstore } from "../../support/sigstore-pki";

const NOW = new Date("2026-11-25T00:00:00Z");
const image = (digest: string) => ({ registry: "registry.local", repository: "team/app", digest });
const codes = (e: VerifiedEvidence | undefined) => e?.reasons.map((r) => r.code);

function verify(digest: string, artifacts: DiscoveredArtifact[], keys: PublicKeyCandidate[], trust = [] as ReturnType<typeof parseTrustedRoot>[]) {
  return verifyArtifacts({ image: image(digest), artifacts, trust, keys, now: NOW });
}

describe("key-based classic signatures", () => {
  it.each<[KeyKind, string]>([
    ["p256", "ecdsa-p256"],
    ["p384", "ecdsa-p384"],
    ["ed25519", "ed25519"],
    ["rsa", "rsa"],
  ])("%s key verifies and is fingerprinted as sha256 of its SPKI", (kind, algorithm) => {
    const key = makeKey(kind);
    const digest = randomDigest();
    const [e] = verify(digest, [tagArtifact(digest, "sig", [classicLayer(digest, key)])], [{ keyId: "team", pem: key.pem }]);
    expect(codes(e)).toEqual([]);
    expect(e?.signer).toEqual({ kind: "key", fingerprint: key.fingerprint, algorithm, keyId: "team", keyIds: ["team"], hint: null });
    expect(e?.tlog).toBeNull();
    expect(e?.trustRootId).toBeNull();
  });

  it("tries every candidate key and every layer: distinct signers for K-of-N", () => {
    const [build, scanner, qa, other] = [makeKey(), makeKey("ed25519"), makeKey("p384"), makeKey()];
    const digest = randomDigest();
    const artifact = tagArtifact(digest, "sig", [classicLayer(digest, build!), classicLayer(digest, scanner!), classicLayer(digest, qa!), classicLayer(digest, other!)]);
    const keys = [
      { keyId: "build", pem: build!.pem },
      { keyId: "scanner", pem: scanner!.pem },
      { keyId: "qa", pem: qa!.pem },
      { keyId: "build-again", pem: build!.pem },
    ];
    const evidence = verify(digest, [artifact], keys);
    expect(evidence.map((e) => e.status)).toEqual(["valid", "valid", "valid", "invalid"]);
    expect(evidence[0]?.matchedKeys).toEqual([{ kind: "key", fingerprint: build!.fingerprint, algorithm: "ecdsa-p256", keyId: "build", keyIds: ["build", "build-again"], hint: null }]);
    const distinct = new Set(evidence.filter((e) => e.status === "valid").flatMap((e) => e.matchedKeys.map((k) => k.fingerprint)));
    expect(distinct.size).toBe(3);
    expect(codes(evidence[3])).toEqual(["signature", "no-matching-key"]);
  });

  it("with no candidate key, a key-based signature is invalid with no-matching-key only", () => {
    const key = makeKey();
    const digest = randomDigest();
    const [e] = verify(digest, [tagArtifact(digest, "sig", [classicLayer(digest, key)])], []);
    expect(e?.status).toBe("invalid");
    expect(codes(e)).toEqual(["no-matching-key"]);
  });

  it("reports cosign -a annotations and the (ignored) docker-reference", () => {
    const key = makeKey();
    const digest = randomDigest();
    const [e] = verify(digest, [tagArtifact(digest, "sig", [classicLayer(digest, key, {}, { env: "prod", build: 42 })])], [{ keyId: "k", pem: key.pem }]);
    expect(e?.status).toBe("valid");
    expect(e?.annotations).toEqual({ env: "prod", build: 42 });
    expect(e?.dockerReference).toBe("registry.local/team/app");
  });

  it("refuses a payload whose critical.type is not a cosign image signature", () => {
    const key = makeKey();
    const digest = randomDigest();
    const content = Buffer.from(simpleSigningPayload(digest).toString().replace("cosign container image signature", "atomic container signature"));
    const layer = { mediaType: SIMPLE_SIGNING, content, annotations: { "dev.cosignproject.cosign/signature": signBytes(key, content).toString("base64") } };
    const [e] = verify(digest, [tagArtifact(digest, "sig", [layer])], [{ keyId: "k", pem: key.pem }]);
    expect(codes(e)).toEqual(["payload-type"]);
  });

  it("ignores unusable candidate keys (weak RSA, private keys, garbage) instead of throwing", () => {
    const key = makeKey();
    const digest = randomDigest();
    const weak = generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey.export({ type: "spki", format: "pem" }).toString();
    const priv = key.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const [e] = verify(digest, [tagArtifact(digest, "sig", [classicLayer(digest, key)])], [
      { keyId: "weak", pem: weak },
      { keyId: "private", pem: priv },
      { keyId: "junk", pem: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n" },
    ]);
    expect(codes(e)).toEqual(["no-matching-key"]);
  });

  it("verifies a key-based signature with a Rekor entry from a private log, and binds the entry to the key", () => {
    const sigstore = makePrivateSigstore();
    const root = parseTrustedRoot(sigstore.trustedRootJson, { id: "private" });
    const key = makeKey();
    const impostor = makeKey();
    const digest = randomDigest();
    const layerFor = (bodyKeyPem: string) => {
      const layer = classicLayer(digest, key);
      const signature = Buffer.from(layer.annotations["dev.cosignproject.cosign/signature"] as string, "base64");
      layer.annotations["dev.sigstore.cosign/bundle"] = rekorBundleAnnotation({
        body: hashedRekordBody(layer.content, signature, bodyKeyPem),
        integratedTime: 1_750_000_000,
        logIndex: 99,
        log: sigstore.rekor,
      });
      return layer;
    };
    const [ok] = verify(digest, [tagArtifact(digest, "sig", [layerFor(key.pem)])], [{ keyId: "k", pem: key.pem }], [root]);
    expect(codes(ok)).toEqual([]);
    expect(ok?.tlog).toMatchObject({ logIndex: 99, integratedTime: 1_750_000_000, verifiedSet: true, kind: "hashedrekord", kindVersion: "0.0.1" });
    expect(ok?.trustRootId).toBe("private");
    const [bad] = verify(digest, [tagArtifact(digest, "sig", [layerFor(impostor.pem)])], [{ keyId: "k", pem: key.pem }], [root]);
    expect(codes(bad)).toEqual(["tlog-body-mismatch"]);
  });
});

describe("a signature no candidate key verifies", () => {
  const messages = (e: VerifiedEvidence | undefined) => Object.fromEntries((e?.reasons ?? []).map((r) => [r.code, r.message]));

  it("counts and names the candidates by distinct key: one key trusted by three policies is one candidate", () => {
    const [signer, trusted, second] = [makeKey(), makeKey(), makeKey()];
    const digest = randomDigest();
    const artifact = tagArtifact(digest, "sig", [classicLayer(digest, signer!)]);
    const threePolicies = ["release/ci", "tools-audit/release", "batch/release-2026"].map((keyId) => ({ keyId, pem: trusted!.pem }));
    const [one] = verify(digest, [artifact], threePolicies);
    expect(one?.status).toBe("invalid");
    expect(messages(one)).toEqual({
      signature: `signature does not verify with the one candidate key (${trusted!.fingerprint})`,
      "no-matching-key": "signed by an untrusted key: no candidate key verifies this signature, and the signature does not name its key",
    });
    const [two] = verify(digest, [artifact], [...threePolicies, { keyId: "other/k", pem: second!.pem }]);
    expect(messages(two).signature).toBe(`signature does not verify with any of 2 candidate keys (${trusted!.fingerprint}, ${second!.fingerprint})`);
  });

  it("names the untrusted signer by fingerprint when its transparency-log entry names the key that verifies the signature", () => {
    const sigstore = makePrivateSigstore();
    const root = parseTrustedRoot(sigstore.trustedRootJson, { id: "private" });
    const [signer, trusted, impostor] = [makeKey(), makeKey(), makeKey()];
    const digest = randomDigest();
    const layerNaming = (bodyKeyPem: string) => {
      const layer = classicLayer(digest, signer!);
      const signature = Buffer.from(layer.annotations["dev.cosignproject.cosign/signature"] as string, "base64");
      layer.annotations["dev.sigstore.cosign/bundle"] = rekorBundleAnnotation({ body: hashedRekordBody(layer.content, signature, bodyKeyPem), integratedTime: 1_750_000_000, logIndex: 7, log: sigstore.rekor });
      return layer;
    };
    const [named] = verify(digest, [tagArtifact(digest, "sig", [layerNaming(signer!.pem)])], [{ keyId: "release/ci", pem: trusted!.pem }], [root]);
    expect(messages(named)["no-matching-key"]).toBe(`signed by an untrusted key ${signer!.fingerprint} (named by its transparency-log entry); no candidate key verifies this signature`);
    // an entry naming a key that did not make the signature names nobody
    const [claimed] = verify(digest, [tagArtifact(digest, "sig", [layerNaming(impostor!.pem)])], [{ keyId: "release/ci", pem: trusted!.pem }], [root]);
    expect(messages(claimed)["no-matching-key"]).toContain("the signature does not name its key");
  });
});

describe("key-based legacy attestations (DSSE layers)", () => {
  const predicateType = "https://cosign.sigstore.dev/attestation/v1";

  it.each<KeyKind>(["p256", "ed25519"])("verifies a %s DSSE attestation and its statement", (kind) => {
    const key = makeKey(kind);
    const digest = randomDigest();
    const layer = dsseLayer(inTotoStatement(digest, predicateType, { Data: "hello", Timestamp: "2025-01-01T00:00:00Z" }), key, {}, predicateType);
    const [e] = verify(digest, [tagArtifact(digest, "att", [layer])], [{ keyId: "k", pem: key.pem }]);
    expect(codes(e)).toEqual([]);
    expect(e).toMatchObject({ kind: "attestation", format: "dsse", predicateType, provenance: null, statement: { type: "https://in-toto.io/Statement/v0.1", predicateType } });
  });

  it("refuses a statement about another image, a non in-toto payloadType and an annotation that disagrees", () => {
    const key = makeKey();
    const digest = randomDigest();
    const elsewhere = dsseLayer(inTotoStatement(randomDigest(), predicateType), key, {}, predicateType);
    const mislabeled = dsseLayer(inTotoStatement(digest, predicateType), key, {}, "https://slsa.dev/provenance/v1");
    const evidence = verify(digest, [tagArtifact(digest, "att", [elsewhere, mislabeled])], [{ keyId: "k", pem: key.pem }]);
    expect(evidence.map(codes)).toEqual([["dsse-subject"], ["predicate-type-mismatch"]]);
  });

  it("binds a dsse Rekor entry to the envelope and key", () => {
    const sigstore = makePrivateSigstore();
    const root = parseTrustedRoot(sigstore.trustedRootJson, { id: "private" });
    const key = makeKey();
    const digest = randomDigest();
    const statement = inTotoStatement(digest, predicateType);
    const layer = dsseLayer(statement, key, {}, predicateType);
    layer.annotations["dev.sigstore.cosign/bundle"] = rekorBundleAnnotation({
      body: dsseBody(layer.content, statement, layer.signature, key.pem),
      integratedTime: 1_750_000_000,
      logIndex: 5,
      log: sigstore.rekor,
    });
    const [e] = verify(digest, [tagArtifact(digest, "att", [layer])], [{ keyId: "k", pem: key.pem }], [root]);
    expect(codes(e)).toEqual([]);
    expect(e?.tlog).toMatchObject({ kind: "dsse", verifiedSet: true });
  });
});

describe("output size", () => {
  it("stays bounded for a valid attestation with oversized statement, provenance and annotations", () => {
    const key = makeKey();
    const digest = randomDigest();
    // Large but within the 4 MiB layer cap (the envelope base64-encodes the statement).
    const long = "x".repeat(2000);
    const material = { uri: long, digest: Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`alg${i}${long.slice(0, 100)}`, long.slice(0, 500)])) };
    const predicate = {
      builder: { id: long },
      buildType: long,
      invocation: { configSource: { uri: long, digest: { sha1: long }, entryPoint: long }, environment: { github_ref: long, github_event_name: long, github_actor: long } },
      metadata: { buildInvocationID: long },
      materials: Array.from({ length: 100 }, () => material),
    };
    const subjects = Array.from({ length: 1000 }, (_, i) => ({ name: `${i}${long.slice(0, 1000)}`, digest: { sha256: i === 999 ? digest.slice(7) : long.slice(0, 500) } }));
    const statement = Buffer.from(JSON.stringify({ _type: "https://in-toto.io/Statement/v0.1", predicateType: "https://slsa.dev/provenance/v0.2", subject: subjects, predicate }));
    const [att] = verify(digest, [tagArtifact(digest, "att", [dsseLayer(statement, key, {}, "https://slsa.dev/provenance/v0.2")])], [{ keyId: "k", pem: key.pem }]);
    expect(att?.status).toBe("valid");
    expect(JSON.stringify(att).length).toBeLessThan(256 * 1024);
    const optional = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`k${i}${long.slice(0, 100)}`, long]));
    const [sig] = verify(digest, [tagArtifact(digest, "sig", [classicLayer(digest, key, {}, optional)])], [{ keyId: "k", pem: key.pem }]);
    expect(sig?.status).toBe("valid");
    expect(JSON.stringify(sig).length).toBeLessThan(64 * 1024);
  });
});

describe("unusable layers and inputs", () => {
  const key = makeKey();
  const digest = randomDigest();

  it("a layer whose bytes were not fetched is an error, never valid", () => {
    const artifact = tagArtifact(digest, "sig", [classicLayer(digest, key)]);
    delete artifact.layers[0]!.content;
    artifact.layers[0]!.skipped = "over the 4 MiB cap";
    const [e] = verify(digest, [artifact], [{ keyId: "k", pem: key.pem }]);
    expect(e?.status).toBe("error");
    expect(codes(e)).toEqual(["content-missing"]);
  });

  it("reports unknown layers of signature artifacts as unsupported and ignores SBOM artifacts", () => {
    const sig = tagArtifact(digest, "sig", [classicLayer(digest, key), { mediaType: "application/octet-stream", content: Buffer.from("x"), annotations: {} }]);
    const sbom: DiscoveredArtifact = { ...tagArtifact(digest, "sig", [{ mediaType: "text/spdx+json", content: Buffer.from("{}"), annotations: {} }]), kind: "sbom" };
    const evidence = verify(digest, [sig, sbom], [{ keyId: "k", pem: key.pem }]);
    expect(evidence.map((e) => e.status)).toEqual(["valid", "error"]);
    expect(codes(evidence[1])).toEqual(["unsupported"]);
  });

  it("an image digest that is not sha256:<hex> makes every evidence an error", () => {
    const [e] = verifyArtifacts({ image: image("sha256:ABC"), artifacts: [tagArtifact(digest, "sig", [classicLayer(digest, key)])], trust: [], keys: [{ keyId: "k", pem: key.pem }], now: NOW });
    expect(e?.status).toBe("error");
    expect(codes(e)).toEqual(["malformed"]);
  });

  it("caps the evidence produced for one digest", () => {
    const layer = classicLayer(digest, key);
    const artifact = tagArtifact(digest, "sig", [layer]);
    const many = Array.from({ length: 2001 }, () => artifact);
    const evidence = verify(digest, many, [{ keyId: "k", pem: key.pem }]);
    expect(evidence).toHaveLength(2001);
    expect(codes(evidence[2000])).toEqual(["limit"]);
  });
});
