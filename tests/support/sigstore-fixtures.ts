/**
 * Cosign-format signatures generated in memory with node:crypto (classic simple-signing layers, DSSE
 * attestation layers, Rekor bundle annotations), for tests and bench/verify.ts. Byte layouts follow
 * ../shared/docs/signature-formats.md §1.2–1.6 and §2.1.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from "node:crypto";
import type { DiscoveredArtifact, DiscoveredLayer } from "@/lib/evidence/types";

export type KeyKind = "p256" | "p384" | "ed25519" | "rsa";

export interface TestKey {
  kind: KeyKind;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** SPKI PEM (cosign.pub) */
  pem: string;
  spki: Buffer;
  fingerprint: string;
}

export function makeKey(kind: KeyKind = "p256"): TestKey {
  const pair =
    kind === "p256"
      ? generateKeyPairSync("ec", { namedCurve: "prime256v1" })
      : kind === "p384"
        ? generateKeyPairSync("ec", { namedCurve: "secp384r1" })
        : kind === "ed25519"
          ? generateKeyPairSync("ed25519")
          : generateKeyPairSync("rsa", { modulusLength: 2048 });
  const spki = pair.publicKey.export({ type: "spki", format: "der" });
  return {
    kind,
    privateKey: pair.privateKey,
    publicKey: pair.publicKey,
    pem: pair.publicKey.export({ type: "spki", format: "pem" }).toString(),
    spki,
    fingerprint: `sha256:${sha256Hex(spki)}`,
  };
}

export const sha256Hex = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");
export const digestOf = (b: Buffer | string) => `sha256:${sha256Hex(b)}`;
export const randomDigest = () => `sha256:${randomBytes(32).toString("hex")}`;

/** Signs like cosign: SHA-256 for ECDSA/RSA (DER / PKCS#1 v1.5), pure Ed25519. */
export function signBytes(key: TestKey, data: Buffer): Buffer {
  return sign(key.kind === "ed25519" ? null : "sha256", data, key.privateKey);
}

/** The simple-signing payload exactly as cosign writes it (compact Go JSON, this field order). */
export function simpleSigningPayload(digest: string, reference = "registry.local/team/app", optional: Record<string, unknown> | null = null): Buffer {
  return Buffer.from(
    `{"critical":{"identity":{"docker-reference":${JSON.stringify(reference)}},"image":{"docker-manifest-digest":${JSON.stringify(digest)}},"type":"cosign container image signature"},"optional":${JSON.stringify(optional)}}`,
  );
}

export interface LayerSpec {
  mediaType: string;
  content: Buffer;
  annotations: Record<string, string>;
}

/** go-containerregistry's empty-image config for `n` layers. */
function emptyConfig(layerDigests: string[]): Buffer {
  return Buffer.from(
    `{"architecture":"","created":"0001-01-01T00:00:00Z","history":[${layerDigests.map(() => '{"created":"0001-01-01T00:00:00Z"}').join(",")}],"os":"","rootfs":{"type":"layers","diff_ids":${JSON.stringify(layerDigests)}},"config":{}}`,
  );
}

/** A cosign tag-schema artifact (sha256-<hex>.sig / .att) as discovery returns it, manifest bytes included. */
export function tagArtifact(imageDigest: string, suffix: "sig" | "att", layers: LayerSpec[]): DiscoveredArtifact & { manifestBytes: Buffer } {
  const discovered: DiscoveredLayer[] = layers.map((l) => ({
    digest: digestOf(l.content),
    mediaType: l.mediaType,
    size: l.content.length,
    annotations: l.annotations,
    content: l.content,
  }));
  const config = emptyConfig(discovered.map((l) => l.digest));
  const manifestBytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", size: config.length, digest: digestOf(config) },
      layers: discovered.map((l) => ({
        mediaType: l.mediaType,
        size: l.size,
        digest: l.digest,
        annotations: Object.fromEntries(Object.entries(l.annotations).sort(([a], [b]) => a.localeCompare(b))),
      })),
    }),
  );
  return {
    kind: suffix === "sig" ? "signature" : "attestation",
    source: "tag",
    tag: `${imageDigest.replace(":", "-")}.${suffix}`,
    manifestDigest: digestOf(manifestBytes),
    manifestMediaType: "application/vnd.oci.image.manifest.v1+json",
    annotations: {},
    layers: discovered,
    manifestBytes,
  };
}

export const SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json";
export const DSSE_ENVELOPE = "application/vnd.dsse.envelope.v1+json";

/** One classic key-based signature layer for `imageDigest`. */
export function classicLayer(imageDigest: string, key: TestKey, extra: Record<string, string> = {}, optional: Record<string, unknown> | null = null): LayerSpec {
  const content = simpleSigningPayload(imageDigest, "registry.local/team/app", optional);
  return {
    mediaType: SIMPLE_SIGNING,
    content,
    annotations: { "dev.cosignproject.cosign/signature": signBytes(key, content).toString("base64"), ...extra },
  };
}

/** DSSE pre-authentication encoding. */
export function pae(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType);
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${payload.length} `), payload]);
}

export function inTotoStatement(imageDigest: string, predicateType: string, predicate: unknown = {}, type = "https://in-toto.io/Statement/v0.1"): Buffer {
  return Buffer.from(
    JSON.stringify({ _type: type, predicateType, subject: [{ name: "registry.local/team/app", digest: { sha256: imageDigest.replace("sha256:", "") } }], predicate }),
  );
}

/** A DSSE envelope layer (legacy .att) signed by `key`; returns the envelope bytes and signature. */
export function dsseLayer(statement: Buffer, key: TestKey, extra: Record<string, string> = {}, predicateType?: string): LayerSpec & { signature: Buffer } {
  const payloadType = "application/vnd.in-toto+json";
  const signature = signBytes(key, pae(payloadType, statement));
  const content = Buffer.from(JSON.stringify({ payloadType, payload: statement.toString("base64"), signatures: [{ keyid: "", sig: signature.toString("base64") }] }));
  return {
    mediaType: DSSE_ENVELOPE,
    content,
    signature,
    annotations: { "dev.cosignproject.cosign/signature": "", ...(predicateType ? { predicateType } : {}), ...extra },
  };
}

/** cosign's RekorBundle annotation with a SET signed by `log` over the JCS-canonical payload. */
export function rekorBundleAnnotation(opts: { body: Buffer; integratedTime: number; logIndex: number; log: { key: TestKey; logIdHex: string } }): string {
  const body = opts.body.toString("base64");
  // Keys in JCS order (sorted); values are a string, integers and a hex string, so JSON.stringify is canonical.
  const canonical = JSON.stringify({ body, integratedTime: opts.integratedTime, logID: opts.log.logIdHex, logIndex: opts.logIndex });
  const set = signBytes(opts.log.key, Buffer.from(canonical));
  return JSON.stringify({
    SignedEntryTimestamp: set.toString("base64"),
    Payload: { body, integratedTime: opts.integratedTime, logIndex: opts.logIndex, logID: opts.log.logIdHex },
  });
}

/** hashedrekord 0.0.1 body binding a signature over `payload` by `verifierPem` (public key or certificate PEM). */
export function hashedRekordBody(payload: Buffer, signature: Buffer, verifierPem: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      apiVersion: "0.0.1",
      kind: "hashedrekord",
      spec: {
        data: { hash: { algorithm: "sha256", value: sha256Hex(payload) } },
        signature: { content: signature.toString("base64"), publicKey: { content: Buffer.from(verifierPem).toString("base64") } },
      },
    }),
  );
}

/** dsse 0.0.1 body for an envelope. */
export function dsseBody(envelope: Buffer, statement: Buffer, signature: Buffer, verifierPem: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      apiVersion: "0.0.1",
      kind: "dsse",
      spec: {
        envelopeHash: { algorithm: "sha256", value: sha256Hex(envelope) },
        payloadHash: { algorithm: "sha256", value: sha256Hex(statement) },
        signatures: [{ signature: signature.toString("base64"), verifier: Buffer.from(verifierPem).toString("base64") }],
      },
    }),
  );
}

/** A Rekor-like log key and its logID. */
export function makeLog(): { key: TestKey; logIdHex: string } {
  const key = makeKey("p256");
  return { key, logIdHex: sha256Hex(key.spki) };
}

/** intoto 0.0.1 body (older `cosign attest`): hashes of the stored envelope and of the payload, and the signer. */
export function intotoV001Body(envelope: Buffer, statement: Buffer, verifierPem: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      apiVersion: "0.0.1",
      kind: "intoto",
      spec: {
        content: { hash: { algorithm: "sha256", value: sha256Hex(envelope) }, payloadHash: { algorithm: "sha256", value: sha256Hex(statement) } },
        publicKey: Buffer.from(verifierPem).toString("base64"),
      },
    }),
  );
}

/** One P-256 public key in two encodings: as cosign writes it (uncompressed point) and as the SPKI of its compressed point. */
export function keyInTwoEncodings(): { uncompressed: string; compressed: string } {
  const { publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const uncompressed = publicKey.export({ type: "spki", format: "pem" }).toString();
  const jwk = publicKey.export({ format: "jwk" });
  const x = Buffer.from(jwk.x!, "base64url");
  const y = Buffer.from(jwk.y!, "base64url");
  // SPKI of the compressed point: the same algorithm header, a 33-byte point
  const header = Buffer.from("3039301306072a8648ce3d020106082a8648ce3d030107032200", "hex");
  const der = Buffer.concat([header, Buffer.from([y[y.length - 1]! & 1 ? 3 : 2]), x]);
  return { uncompressed, compressed: `-----BEGIN PUBLIC KEY-----\n${der.toString("base64")}\n-----END PUBLIC KEY-----\n` };
}
