/**
 * Property / fuzz tests (fast-check): random and mutated input to every parser and to verifyArtifacts.
 * Properties: nothing but MalformedError escapes a parser; nothing escapes verifyArtifacts; output stays
 * small; random input is never valid; a mutated real signature is valid only if every signed byte is
 * unchanged.
 */
import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bundleFromJSON, bundleToJSON } from "@sigstore/bundle";
import type { DiscoveredArtifact, DiscoveredLayer } from "@/lib/evidence/types";
import { parseCertificateDer, parseCertificatePem } from "@/lib/sigstore/certificate";
import { parseDsseEnvelope } from "@/lib/sigstore/dsse";
import { decodePemBlocks, MalformedError } from "@/lib/sigstore/encoding";
import { parseStatement } from "@/lib/sigstore/in-toto";
import { extractProvenance } from "@/lib/sigstore/provenance";
import { parsePublicKey } from "@/lib/sigstore/public-key";
import { parseRekorBody, parseRekorBundleAnnotation, parseRfc3161Annotation } from "@/lib/sigstore/rekor";
import { parseSimpleSigningPayload } from "@/lib/sigstore/simple-signing";
import { loadPublicGoodTrustRoot, parseTrustedRoot, TrustRootError, type TrustRoot } from "@/lib/sigstore/trusted-root";
import type { VerifiedEvidence } from "@/lib/sigstore/types";
import { parseSigstoreBundle } from "@/lib/sigstore/verify-bundle-layer";
import { verifyArtifacts } from "@/lib/sigstore/verify-artifacts";
import { cloneArtifacts, setContent } from "../../support/sigstore-mutate";
import { loadCase, vectorsAvailable, type VectorCase } from "../../support/sigstore-vectors";
import { makeLeaf, makePrivateSigstore } from "../../support/sigstore-pki";
import { dsseLayer, inTotoStatement, intotoV001Body, randomDigest, rekorBundleAnnotation, tagArtifact } from "../../support/sigstore-fixtures";

const available = vectorsAvailable();
const NOW = new Date("2026-11-25T00:00:00Z");
const SIG = "dev.cosignproject.cosign/signature";
const CERT = "dev.sigstore.cosign/certificate";
const CHAIN = "dev.sigstore.cosign/chain";
const BUNDLE = "dev.sigstore.cosign/bundle";
const RFC3161 = "dev.sigstore.cosign/rfc3161timestamp";
const MEDIA = {
  simple: "application/vnd.dev.cosign.simplesigning.v1+json",
  dsse: "application/vnd.dsse.envelope.v1+json",
  bundle: "application/vnd.dev.sigstore.bundle.v0.3+json",
};

/** Runs fn; only MalformedError (or `allowed`) may escape. */
function onlyMalformed(fn: () => unknown, allowed: new (...args: never[]) => Error = MalformedError): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof allowed)) throw err;
  }
}

const bytes = (max = 4096) => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));
const jsonText = fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v) ?? "null");

/** Flips, truncates or splices a sample. */
const mutationOf = (sample: Buffer) =>
  fc.oneof(
    fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })).map(([i, mask]) => {
      const out = Buffer.from(sample);
      const at = i % out.length;
      out[at] = (out[at] ?? 0) ^ mask;
      return out;
    }),
    fc.nat().map((i) => sample.subarray(0, i % sample.length)),
    fc.tuple(fc.nat(), bytes(16)).map(([i, insert]) => Buffer.concat([sample.subarray(0, i % sample.length), insert, sample.subarray(i % sample.length)])),
  );

/** Every JSON path of a value. */
function paths(value: unknown, prefix: string[] = []): string[][] {
  const out: string[][] = [prefix];
  if (value && typeof value === "object") for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...prefix, k]));
  return out;
}

function replaceAt(value: unknown, path: string[], replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  const copy: any = Array.isArray(value) ? [...value] : { ...(value as object) };
  const [head, ...rest] = path as [string, ...string[]];
  copy[head] = replaceAt(copy[head], rest, replacement);
  return copy;
}

/** Replaces one node of a JSON document (by path index) with a random value, or deletes it. */
const jsonMutationOf = (doc: unknown) => {
  const all = paths(doc).filter((p) => p.length > 0);
  return fc.tuple(fc.nat({ max: all.length - 1 }), fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined })).map(([i, v]) => replaceAt(doc, all[i] as string[], v));
};

const samples = (() => {
  const sigstore = makePrivateSigstore();
  return { rootJson: sigstore.trustedRootJson, caDer: sigstore.ca.der, caPem: sigstore.ca.pem };
})();

describe("parsers never throw anything but MalformedError", () => {
  const runs = { numRuns: 700 };

  it("parsePublicKey", () => {
    const pem = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEA9oFvTJJuu0cszKBsiuqfFYN3NLVmeleaASYW5l+nqDxoUg4f8177owlgVD89pZQ9jUxP8dbibmDJpvcjBo9RQ==\n-----END PUBLIC KEY-----\n";
    fc.assert(fc.property(fc.oneof(fc.string(), mutationOf(Buffer.from(pem)).map((b) => b.toString("latin1"))), (s) => onlyMalformed(() => parsePublicKey(s))), runs);
  });

  it("certificates (PEM and DER)", () => {
    fc.assert(
      fc.property(fc.oneof(bytes(), mutationOf(samples.caDer)), (der) => {
        onlyMalformed(() => parseCertificateDer(der));
        onlyMalformed(() => parseCertificatePem(`-----BEGIN CERTIFICATE-----\n${der.toString("base64")}\n-----END CERTIFICATE-----`));
      }),
      runs,
    );
    fc.assert(fc.property(fc.string(), (s) => onlyMalformed(() => decodePemBlocks(s, "CERTIFICATE", "x", 2))), runs);
  });

  it("DSSE envelopes, statements, simple-signing payloads", () => {
    const envelope = { payloadType: "application/vnd.in-toto+json", payload: Buffer.from('{"_type":"https://in-toto.io/Statement/v1"}').toString("base64"), signatures: [{ keyid: "", sig: "MEUCIQ==" }] };
    const statement = { _type: "https://in-toto.io/Statement/v1", predicateType: "p", subject: [{ name: "n", digest: { sha256: "ab" } }], predicate: { builder: { id: "x" } } };
    const payload = { critical: { identity: { "docker-reference": "r" }, image: { "docker-manifest-digest": "sha256:ab" }, type: "cosign container image signature" }, optional: null };
    const input = (doc: unknown) => fc.oneof(bytes(), jsonText.map((s) => Buffer.from(s)), jsonMutationOf(doc).map((d) => Buffer.from(JSON.stringify(d) ?? "")));
    fc.assert(fc.property(input(envelope), (b) => onlyMalformed(() => parseDsseEnvelope(b))), runs);
    fc.assert(
      fc.property(input(statement), (b) =>
        onlyMalformed(() => {
          const s = parseStatement(b);
          extractProvenance("https://slsa.dev/provenance/v0.2", s.predicate);
          extractProvenance("https://slsa.dev/provenance/v1", s.predicate);
        }),
      ),
      runs,
    );
    fc.assert(fc.property(input(payload), (b) => onlyMalformed(() => parseSimpleSigningPayload(b))), runs);
  });

  it("Rekor annotations and bodies", () => {
    const annotation = { SignedEntryTimestamp: "MEUCIQ==", Payload: { body: "e30=", integratedTime: 1, logIndex: 2, logID: "ab".repeat(32) } };
    const body = { apiVersion: "0.0.1", kind: "dsse", spec: { signatures: [{ signature: "AA==", verifier: "AA==" }] } };
    fc.assert(fc.property(fc.oneof(fc.string(), jsonText, jsonMutationOf(annotation).map((d) => JSON.stringify(d) ?? "")), (s) => onlyMalformed(() => parseRekorBundleAnnotation(s))), runs);
    fc.assert(fc.property(fc.oneof(fc.string(), jsonText), (s) => onlyMalformed(() => parseRfc3161Annotation(s))), runs);
    fc.assert(fc.property(fc.oneof(bytes(), jsonMutationOf(body).map((d) => Buffer.from(JSON.stringify(d) ?? ""))), (b) => onlyMalformed(() => parseRekorBody(b))), runs);
  });

  it.skipIf(!available)("Sigstore bundles", () => {
    const real = JSON.parse((loadCase("tobby-bundle-referrers").artifacts[0]?.layers[0]?.content as Buffer).toString());
    fc.assert(
      fc.property(fc.oneof(bytes(), jsonText.map((s) => Buffer.from(s)), jsonMutationOf(real).map((d) => Buffer.from(JSON.stringify(d) ?? ""))), (b) => onlyMalformed(() => parseSigstoreBundle(b))),
      runs,
    );
  });

  it("trusted roots (TrustRootError only)", () => {
    const doc = JSON.parse(samples.rootJson);
    fc.assert(
      fc.property(fc.oneof(jsonText, jsonMutationOf(doc).map((d) => JSON.stringify(d) ?? "")), (s) => onlyMalformed(() => parseTrustedRoot(s, { id: "fuzz" }), TrustRootError)),
      { numRuns: 400 },
    );
  });
});

/** JSON size of one evidence: bounded whatever the input. */
const MAX_EVIDENCE_JSON = 256 * 1024;

function checkShape(evidence: VerifiedEvidence[], layers: number) {
  expect(evidence.length).toBeLessThanOrEqual(layers);
  for (const e of evidence) {
    expect(["valid", "invalid", "error"]).toContain(e.status);
    expect(e.status === "valid").toBe(e.reasons.length === 0);
    expect(JSON.stringify(e).length).toBeLessThan(MAX_EVIDENCE_JSON);
  }
}

describe("verifyArtifacts on random input", () => {
  const trust = loadPublicGoodTrustRoot();
  const key = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEA9oFvTJJuu0cszKBsiuqfFYN3NLVmeleaASYW5l+nqDxoUg4f8177owlgVD89pZQ9jUxP8dbibmDJpvcjBo9RQ==\n-----END PUBLIC KEY-----\n";
  const annotationValue = fc.oneof(
    fc.string(),
    fc.base64String({ maxLength: 200 }),
    jsonText,
    fc.constant(samples.caPem),
    fc.constant(JSON.stringify({ SignedEntryTimestamp: "MEUCIQ==", Payload: { body: "e30=", integratedTime: 1, logIndex: 2, logID: "ab".repeat(32) } })),
  );
  const content = fc.oneof(
    bytes(512),
    jsonText.map((s) => Buffer.from(s)),
    fc.constant(Buffer.from(JSON.stringify({ payloadType: "application/vnd.in-toto+json", payload: "e30=", signatures: [{ sig: "MEUCIQ==" }] }))),
  );
  const layer = fc
    .record({
      mediaType: fc.constantFrom(MEDIA.simple, MEDIA.dsse, MEDIA.bundle, "application/octet-stream", ""),
      annotations: fc.dictionary(fc.constantFrom(SIG, CERT, CHAIN, BUNDLE, RFC3161, "predicateType", "other"), annotationValue),
      content: fc.option(content, { nil: undefined }),
      digestOk: fc.boolean(),
    })
    .map(({ mediaType, annotations, content: c, digestOk }): DiscoveredLayer => ({
      mediaType,
      annotations,
      content: c,
      size: c?.length ?? 0,
      digest: c && digestOk ? `sha256:${createHash("sha256").update(c).digest("hex")}` : "sha256:00",
    }));
  const artifact = fc.record({
    kind: fc.constantFrom("signature", "attestation", "bundle", "sbom", "other"),
    source: fc.constantFrom("tag", "referrers-api", "referrers-tag"),
    manifestDigest: fc.string(),
    manifestMediaType: fc.string(),
    annotations: fc.dictionary(fc.constantFrom("dev.sigstore.bundle.predicateType", "x"), fc.string()),
    layers: fc.array(layer, { maxLength: 4 }),
  }) as fc.Arbitrary<DiscoveredArtifact>;

  it("never throws, never says valid, stays bounded", () => {
    fc.assert(
      fc.property(fc.array(artifact, { maxLength: 3 }), fc.boolean(), (artifacts, withKey) => {
        const evidence = verifyArtifacts({
          image: { registry: "r", repository: "x", digest: `sha256:${"ab".repeat(32)}` },
          artifacts,
          trust,
          keys: withKey ? [{ keyId: "k", pem: key }] : [],
          now: NOW,
        });
        checkShape(evidence, artifacts.reduce((n, a) => n + a.layers.length, 0));
        expect(evidence.filter((e) => e.status === "valid")).toEqual([]);
      }),
      { numRuns: 1500 },
    );
  });

  it("survives hostile shapes: nulls, wrong types, huge and deeply nested blobs", () => {
    const deep = Buffer.from("[".repeat(200_000));
    const huge = Buffer.alloc(4 * 1024 * 1024 + 1, 0x61);
    const hostile: unknown[] = [
      null,
      undefined,
      42,
      { layers: null },
      { kind: "signature", layers: [null, 1, { mediaType: MEDIA.simple }] },
      { kind: "signature", layers: [{ mediaType: MEDIA.simple, content: deep, digest: `sha256:${createHash("sha256").update(deep).digest("hex")}`, annotations: { [SIG]: "AAAA" } }] },
      { kind: "signature", layers: [{ mediaType: MEDIA.dsse, content: huge, digest: "sha256:00", annotations: {} }] },
      { kind: "bundle", layers: [{ mediaType: MEDIA.bundle, content: "not a buffer", digest: "x", annotations: null }] },
      { kind: "signature", layers: [{ mediaType: MEDIA.simple, content: Buffer.from("{}"), digest: `sha256:${createHash("sha256").update("{}").digest("hex")}`, annotations: { [SIG]: "x".repeat(300_000) } }] },
    ];
    for (const a of hostile) {
      const run = () => verifyArtifacts({ image: { registry: "r", repository: "x", digest: `sha256:${"ab".repeat(32)}` }, artifacts: [a as DiscoveredArtifact], trust, keys: [{ keyId: "k", pem: key }], now: NOW });
      expect(run).not.toThrow();
      for (const e of run()) expect(e.status).not.toBe("valid");
    }
    expect(() => verifyArtifacts(null as never)).not.toThrow();
    expect(() => verifyArtifacts({ image: null, artifacts: "x", trust: null, keys: [null], now: "soon" } as never)).not.toThrow();
  });
});

/**
 * What a signature's validity depends on, decoded: the core (payload, signature, key material), the
 * tlog entries and the RFC 3161 timestamps (the last two may be dropped: their absence is reported as a
 * fact, and requiring them is a policy decision). null when unparseable.
 */
interface Material {
  core: string;
  tlog: Array<Record<string, unknown>>;
  tsa: string;
}

function signedMaterial(layer: DiscoveredLayer): Material | null {
  try {
    const content = layer.content as Buffer;
    const core: unknown[] = [];
    let tlog: Array<Record<string, unknown>> = [];
    let tsa: unknown = null;
    if (layer.mediaType === MEDIA.bundle) {
      const json = bundleToJSON(bundleFromJSON(JSON.parse(content.toString()))) as any;
      if (json.verificationMaterial?.publicKey) delete json.verificationMaterial.publicKey.hint;
      for (const sig of json.dsseEnvelope?.signatures ?? []) delete sig.keyid;
      tlog = json.verificationMaterial.tlogEntries ?? [];
      tsa = json.verificationMaterial.timestampVerificationData?.rfc3161Timestamps ?? [];
      delete json.verificationMaterial.tlogEntries;
      delete json.verificationMaterial.timestampVerificationData;
      core.push(json);
    } else if (layer.mediaType === MEDIA.dsse) {
      const env = JSON.parse(content.toString());
      core.push(env.payloadType, Buffer.from(env.payload, "base64").toString("hex"), env.signatures.map((s: any) => Buffer.from(s.sig, "base64").toString("hex")));
    } else {
      core.push(content.toString("hex"));
    }
    const ann = layer.annotations;
    core.push(Buffer.from((ann[SIG] ?? "").replace(/\s/g, ""), "base64").toString("hex"));
    core.push(ann[CERT] ? decodePemBlocks(ann[CERT], "CERTIFICATE", "c", 2).map((b) => b.toString("hex")) : null);
    if (ann[BUNDLE]) {
      const rb = JSON.parse(ann[BUNDLE]);
      tlog = [{ inclusionPromise: Buffer.from(rb.SignedEntryTimestamp, "base64").toString("hex"), body: rb.Payload.body, integratedTime: rb.Payload.integratedTime, logIndex: rb.Payload.logIndex, logID: rb.Payload.logID }];
    }
    if (ann[RFC3161]) tsa = ann[RFC3161];
    return { core: JSON.stringify(core), tlog, tsa: JSON.stringify(tsa ?? []) };
  } catch {
    return null;
  }
}

/** A valid evidence may differ from the original only by dropped tlog / timestamp components it reports as absent. */
function expectOnlyDroppedOptionalParts(e: VerifiedEvidence, originalEvidence: VerifiedEvidence, mutated: Material | null, original: Material | null) {
  expect(mutated).not.toBeNull();
  if (!mutated || !original) return;
  expect(mutated.core).toBe(original.core);
  // RFC 3161 responses carry unsigned parts (status, certificates): compare the verified facts instead.
  if (e.timestamps.length > 0) expect(e.timestamps).toEqual(originalEvidence.timestamps);
  // No mutation may change the facts a policy reads from a valid evidence (the bundle key hint is unsigned metadata).
  const facts = (x: VerifiedEvidence) => ({
    signer: x.signer?.kind === "key" ? { ...x.signer, hint: null } : x.signer,
    matchedKeys: x.matchedKeys.map((k) => ({ ...k, hint: null })),
    statement: x.statement,
    predicateType: x.predicateType,
    provenance: x.provenance,
    annotations: x.annotations,
    // Dropping the only tlog entry / timestamp also drops the need for a trust root.
    trustRootId: e.tlog === null && e.timestamps.length === 0 ? null : x.trustRootId,
  });
  expect(facts(e)).toEqual(facts(originalEvidence));
  if (e.tlog === null) return;
  expect({ ...e.tlog, verifiedSet: true, verifiedInclusionProof: true, logIndex: 0, integratedTime: 0, integratedTimeISO: "", inclusionProof: null }).toEqual({
    ...originalEvidence.tlog,
    verifiedSet: true,
    verifiedInclusionProof: true,
    logIndex: 0,
    integratedTime: 0,
    integratedTimeISO: "",
    inclusionProof: null,
  });
  if (e.tlog.verifiedSet) expect([e.tlog.logIndex, e.tlog.integratedTime]).toEqual([originalEvidence.tlog?.logIndex, originalEvidence.tlog?.integratedTime]);
  if (e.tlog.verifiedInclusionProof) expect(e.tlog.inclusionProof).toEqual(originalEvidence.tlog?.inclusionProof);
  expect(mutated.tlog).toHaveLength(original.tlog.length);
  const strip = (entry: Record<string, unknown> | undefined) => {
    const copy = { ...entry };
    // Without a verified SET, logIndex / integratedTime are unauthenticated (documented on TlogFacts).
    if (!e.tlog?.verifiedSet) for (const k of ["inclusionPromise", "logIndex", "integratedTime"]) delete copy[k];
    if (!e.tlog?.verifiedInclusionProof) delete copy.inclusionProof;
    return JSON.stringify(copy);
  };
  expect(strip(mutated.tlog[0])).toBe(strip(original.tlog[0]));
}

describe.skipIf(!available)("verifyArtifacts on mutated real signatures", () => {
  const trust = loadPublicGoodTrustRoot();
  const names = ["tobby-classic-key", "cimage-key-rekor", "cimage-keyless-rekor", "salrashid-keyless-rekor", "slsa-generator-container-att", "tobby-bundle-referrers"];
  type FuzzCase = Pick<VectorCase, "image" | "artifacts" | "keyPem"> & { trust: TrustRoot };
  const cases: FuzzCase[] = available ? names.map((n) => ({ ...loadCase(n), trust })) : [];
  // Generated: a keyless legacy attestation logged as intoto 0.0.1 (checked outside sigstore-js) in a private deployment.
  {
    const sigstore = makePrivateSigstore();
    const T = new Date("2024-03-01T08:00:00Z");
    const leaf = makeLeaf({ ca: sigstore.ca, ctlog: sigstore.ctlog, notBefore: new Date(T.getTime() - 60_000), notAfter: new Date(T.getTime() + 540_000), identity: { email: "ci@signet.test" }, issuerV1: "https://issuer.test" });
    const digest = randomDigest();
    const statement = inTotoStatement(digest, "https://slsa.dev/provenance/v0.2", { builder: { id: "https://builder" } });
    const layer = dsseLayer(statement, leaf.key, { "dev.sigstore.cosign/certificate": leaf.pem }, "https://slsa.dev/provenance/v0.2");
    layer.annotations[BUNDLE] = rekorBundleAnnotation({ body: intotoV001Body(layer.content, statement, leaf.pem), integratedTime: T.getTime() / 1000, logIndex: 3, log: sigstore.rekor });
    cases.push({ image: { registry: "r", repository: "x", digest }, artifacts: [tagArtifact(digest, "att", [layer])], keyPem: null, trust: parseTrustedRoot(sigstore.trustedRootJson, { id: "private" }) });
  }
  const verify = (c: FuzzCase, artifacts: DiscoveredArtifact[]) =>
    verifyArtifacts({ image: c.image, artifacts, trust: c.trust, keys: c.keyPem ? [{ keyId: "k", pem: c.keyPem }] : [], now: NOW });
  const originals = cases.map((c) => verify(c, c.artifacts)[0]);

  it("controls are valid", () => {
    expect(originals.map((e) => e?.status)).toEqual(cases.map(() => "valid"));
  });

  /** One mutation: which case, which target (content bytes, an annotation string, or a JSON node), where. */
  const mutation = fc.record({
    caseIndex: fc.nat({ max: names.length }),
    target: fc.constantFrom("content", SIG, CERT, BUNDLE, CHAIN, "predicateType", "json"),
    index: fc.nat(),
    mask: fc.integer({ min: 1, max: 255 }),
    replacement: fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined }),
    truncate: fc.boolean(),
  });

  it("is valid only when every signed byte is unchanged", () => {
    let checked = 0;
    fc.assert(
      fc.property(mutation, (m) => {
        const c = cases[m.caseIndex] as FuzzCase;
        const artifacts = cloneArtifacts(c.artifacts);
        const layer = artifacts[0]?.layers[0] as DiscoveredLayer;
        const original = signedMaterial(c.artifacts[0]?.layers[0] as DiscoveredLayer);
        if (m.target === "content") {
          const buf = Buffer.from(layer.content as Buffer);
          const at = m.index % buf.length;
          if (m.truncate) setContent(layer, buf.subarray(0, at));
          else {
            buf[at] = (buf[at] ?? 0) ^ m.mask;
            setContent(layer, buf);
          }
        } else if (m.target === "json") {
          const text = (layer.content as Buffer).toString();
          let doc: unknown;
          try {
            doc = JSON.parse(text);
          } catch {
            return;
          }
          const all = paths(doc).filter((p) => p.length > 0);
          if (all.length === 0) return;
          setContent(layer, Buffer.from(JSON.stringify(replaceAt(doc, all[m.index % all.length] as string[], m.replacement)) ?? ""));
        } else {
          const value = layer.annotations[m.target];
          if (value === undefined || value.length === 0) return;
          const at = m.index % value.length;
          layer.annotations[m.target] = m.truncate ? value.slice(0, at) : value.slice(0, at) + String.fromCharCode(value.charCodeAt(at) ^ (m.mask & 0x7f || 1)) + value.slice(at + 1);
        }
        const evidence = verify(c, artifacts);
        checkShape(evidence, 1);
        if (evidence[0]?.status === "valid") expectOnlyDroppedOptionalParts(evidence[0], originals[m.caseIndex] as VerifiedEvidence, signedMaterial(layer), original);
        checked += 1;
      }),
      { numRuns: 2500 },
    );
    expect(checked).toBeGreaterThan(1000);
  });
});
