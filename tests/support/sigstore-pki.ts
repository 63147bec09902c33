/**
 * A private, Fulcio-like Sigstore deployment generated locally for tests: a CA, leaf certificates with
 * Fulcio extensions and an embedded SCT, a CT log key, a Rekor key, and the trusted_root.json that
 * names them. node:crypto cannot build certificates, so this file has a minimal DER encoder; the result
 * is cross-checked with the openssl CLI in the tests.
 */
import { createHash, sign } from "node:crypto";
import {
  dsseBody,
  dsseLayer,
  hashedRekordBody,
  makeKey,
  makeLog,
  rekorBundleAnnotation,
  sha256Hex,
  signBytes,
  SIMPLE_SIGNING,
  simpleSigningPayload,
  type LayerSpec,
  type TestKey,
} from "./sigstore-fixtures";

// --- DER -------------------------------------------------------------------------------------------

function len(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export const der = {
  tlv: (tag: number, content: Buffer) => Buffer.concat([Buffer.from([tag]), len(content.length), content]),
  seq: (...items: Buffer[]) => der.tlv(0x30, Buffer.concat(items)),
  set: (...items: Buffer[]) => der.tlv(0x31, Buffer.concat(items)),
  bool: (v: boolean) => der.tlv(0x01, Buffer.from([v ? 0xff : 0x00])),
  int: (value: number | Buffer) => {
    const hex = typeof value === "number" ? value.toString(16) : "";
    let bytes = typeof value === "number" ? Buffer.from(hex.length % 2 ? `0${hex}` : hex, "hex") : value;
    while (bytes.length > 1 && bytes[0] === 0 && (bytes[1] ?? 0) < 0x80) bytes = bytes.subarray(1);
    if ((bytes[0] ?? 0) >= 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
    return der.tlv(0x02, bytes);
  },
  oid: (dotted: string) => {
    const arcs = dotted.split(".").map(Number);
    const out: number[] = [40 * (arcs[0] ?? 0) + (arcs[1] ?? 0)];
    for (const arc of arcs.slice(2)) {
      const chunk: number[] = [arc & 0x7f];
      for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
      out.push(...chunk);
    }
    return der.tlv(0x06, Buffer.from(out));
  },
  utf8: (s: string) => der.tlv(0x0c, Buffer.from(s, "utf8")),
  octet: (b: Buffer) => der.tlv(0x04, b),
  bitString: (b: Buffer, unused = 0) => der.tlv(0x03, Buffer.concat([Buffer.from([unused]), b])),
  utcTime: (d: Date) => der.tlv(0x17, Buffer.from(d.toISOString().replace(/[-:T]/g, "").slice(2, 14) + "Z")),
  ctx: (n: number, content: Buffer, constructed = true) => der.tlv((constructed ? 0xa0 : 0x80) | n, content),
};

// --- certificates ----------------------------------------------------------------------------------

export const OID = {
  ecdsaSha256: "1.2.840.10045.4.3.2",
  organization: "2.5.4.10",
  commonName: "2.5.4.3",
  basicConstraints: "2.5.29.19",
  keyUsage: "2.5.29.15",
  extKeyUsage: "2.5.29.37",
  subjectKeyId: "2.5.29.14",
  authorityKeyId: "2.5.29.35",
  subjectAltName: "2.5.29.17",
  codeSigning: "1.3.6.1.5.5.7.3.3",
  sct: "1.3.6.1.4.1.11129.2.4.2",
  fulcio: (n: number) => `1.3.6.1.4.1.57264.1.${n}`,
};

export function name(organization: string, commonName: string): Buffer {
  return der.seq(
    der.set(der.seq(der.oid(OID.organization), der.utf8(organization))),
    der.set(der.seq(der.oid(OID.commonName), der.utf8(commonName))),
  );
}

export function extension(oid: string, value: Buffer, critical = false): Buffer {
  return der.seq(der.oid(oid), ...(critical ? [der.bool(true)] : []), der.octet(value));
}

const keyId = (spki: Buffer) => createHash("sha1").update(spki).digest();

export interface CertSpec {
  serial: Buffer;
  issuer: Buffer;
  subject: Buffer;
  notBefore: Date;
  notAfter: Date;
  subjectKey: TestKey;
  issuerKey: TestKey;
  extensions: Buffer[];
}

export function tbsCertificate(spec: CertSpec): Buffer {
  return der.seq(
    der.ctx(0, der.int(2)),
    der.int(spec.serial),
    der.seq(der.oid(OID.ecdsaSha256)),
    spec.issuer,
    der.seq(der.utcTime(spec.notBefore), der.utcTime(spec.notAfter)),
    spec.subject,
    spec.subjectKey.spki,
    der.ctx(3, der.seq(...spec.extensions)),
  );
}

export function signCertificate(tbs: Buffer, issuerKey: TestKey): Buffer {
  return der.seq(tbs, der.seq(der.oid(OID.ecdsaSha256)), der.bitString(sign("sha256", tbs, issuerKey.privateKey)));
}

export function toPem(derBytes: Buffer, label = "CERTIFICATE"): string {
  const b64 = derBytes.toString("base64").replace(/(.{64})/g, "$1\n").replace(/\n$/, "");
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

export interface Ca {
  key: TestKey;
  name: Buffer;
  der: Buffer;
  pem: string;
}

export function makeCa(commonName = "private-fulcio", notBefore = new Date("2020-01-01T00:00:00Z"), notAfter = new Date("2040-01-01T00:00:00Z")): Ca {
  const key = makeKey("p256");
  const caName = name("signet.test", commonName);
  const tbs = tbsCertificate({
    serial: Buffer.from("01", "hex"),
    issuer: caName,
    subject: caName,
    notBefore,
    notAfter,
    subjectKey: key,
    issuerKey: key,
    extensions: [
      extension(OID.keyUsage, der.bitString(Buffer.from([0x06]), 1), true),
      extension(OID.basicConstraints, der.seq(der.bool(true), der.int(1)), true),
      extension(OID.subjectKeyId, der.octet(keyId(key.spki))),
    ],
  });
  const certDer = signCertificate(tbs, key);
  return { key, name: caName, der: certDer, pem: toPem(certDer) };
}

export interface LeafSpec {
  ca: Ca;
  ctlog: { key: TestKey; logIdHex: string } | null;
  notBefore: Date;
  notAfter: Date;
  /** SAN: an email or a URI */
  identity: { email: string } | { uri: string } | { otherName: string };
  issuerV1?: string;
  issuerV2?: string;
  /** Extra Fulcio DER-UTF8String extensions, by OID suffix (9–23). */
  fulcio?: Record<number, string>;
  codeSigning?: boolean;
  key?: TestKey;
  serial?: Buffer;
}

export interface Leaf {
  key: TestKey;
  der: Buffer;
  pem: string;
}

/** A Fulcio-like leaf (empty subject, critical SAN, codeSigning EKU, issuer extensions) with an embedded SCT. */
export function makeLeaf(spec: LeafSpec): Leaf {
  const key = spec.key ?? makeKey("p256");
  const san =
    "email" in spec.identity
      ? der.tlv(0x81, Buffer.from(spec.identity.email))
      : "uri" in spec.identity
        ? der.tlv(0x86, Buffer.from(spec.identity.uri))
        : // otherName [0] { type-id 1.3.6.1.4.1.57264.1.7, [0] EXPLICIT UTF8String } (Fulcio username identities)
          der.ctx(0, Buffer.concat([der.oid(OID.fulcio(7)), der.ctx(0, der.utf8(spec.identity.otherName))]));
  const extensions = [
    extension(OID.keyUsage, der.bitString(Buffer.from([0x80]), 7), true),
    ...(spec.codeSigning === false ? [] : [extension(OID.extKeyUsage, der.seq(der.oid(OID.codeSigning)))]),
    extension(OID.subjectKeyId, der.octet(keyId(key.spki))),
    extension(OID.authorityKeyId, der.seq(der.tlv(0x80, keyId(spec.ca.key.spki)))),
    extension(OID.subjectAltName, der.seq(san), true),
    ...(spec.issuerV1 ? [extension(OID.fulcio(1), Buffer.from(spec.issuerV1))] : []),
    ...(spec.issuerV2 ? [extension(OID.fulcio(8), der.utf8(spec.issuerV2))] : []),
    ...Object.entries(spec.fulcio ?? {}).map(([n, v]) => extension(OID.fulcio(Number(n)), der.utf8(v))),
  ];
  const base: CertSpec = {
    serial: spec.serial ?? Buffer.from(sha256Hex(key.spki).slice(0, 40), "hex"),
    issuer: spec.ca.name,
    subject: der.seq(),
    notBefore: spec.notBefore,
    notAfter: spec.notAfter,
    subjectKey: key,
    issuerKey: spec.ca.key,
    extensions,
  };
  let tbs = tbsCertificate(base);
  if (spec.ctlog) {
    // RFC 6962 §3.2: the SCT signs the precertificate TBS (the final TBS without the SCT extension).
    const timestamp = Buffer.alloc(8);
    timestamp.writeBigUInt64BE(BigInt(spec.notBefore.getTime()));
    const issuerKeyHash = createHash("sha256").update(spec.ca.key.spki).digest();
    const tbsLen = Buffer.alloc(3);
    tbsLen.writeUIntBE(tbs.length, 0, 3);
    const signed = Buffer.concat([Buffer.from([0, 0]), timestamp, Buffer.from([0, 1]), issuerKeyHash, tbsLen, tbs, Buffer.from([0, 0])]);
    const signature = sign("sha256", signed, spec.ctlog.key.privateKey);
    const sigLen = Buffer.alloc(2);
    sigLen.writeUInt16BE(signature.length);
    const sct = Buffer.concat([Buffer.from([0]), Buffer.from(spec.ctlog.logIdHex, "hex"), timestamp, Buffer.from([0, 0]), Buffer.from([4, 3]), sigLen, signature]);
    const sctLen = Buffer.alloc(2);
    sctLen.writeUInt16BE(sct.length);
    const listLen = Buffer.alloc(2);
    listLen.writeUInt16BE(sct.length + 2);
    const list = Buffer.concat([listLen, sctLen, sct]);
    tbs = tbsCertificate({ ...base, extensions: [...extensions, extension(OID.sct, der.octet(list))] });
  }
  const certDer = signCertificate(tbs, spec.ca.key);
  return { key, der: certDer, pem: toPem(certDer) };
}

// --- a private Sigstore deployment ---------------------------------------------------------------

export interface PrivateSigstore {
  ca: Ca;
  rekor: { key: TestKey; logIdHex: string };
  ctlog: { key: TestKey; logIdHex: string };
  trustedRootJson: string;
}

function logEntry(baseUrl: string, log: { key: TestKey; logIdHex: string }, start: string) {
  return {
    baseUrl,
    hashAlgorithm: "SHA2_256",
    publicKey: { rawBytes: log.key.spki.toString("base64"), keyDetails: "PKIX_ECDSA_P256_SHA_256", validFor: { start } },
    logId: { keyId: Buffer.from(log.logIdHex, "hex").toString("base64") },
  };
}

export function makePrivateSigstore(): PrivateSigstore {
  const ca = makeCa();
  const rekor = makeLog();
  const ctlog = makeLog();
  const root = {
    mediaType: "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
    tlogs: [logEntry("https://rekor.signet.test", rekor, "2020-01-01T00:00:00Z")],
    certificateAuthorities: [
      {
        subject: { organization: "signet.test", commonName: "private-fulcio" },
        uri: "https://fulcio.signet.test",
        certChain: { certificates: [{ rawBytes: ca.der.toString("base64") }] },
        validFor: { start: "2020-01-01T00:00:00Z" },
      },
    ],
    ctlogs: [logEntry("https://ctfe.signet.test", ctlog, "2020-01-01T00:00:00Z")],
    timestampAuthorities: [],
  };
  return { ca, rekor, ctlog, trustedRootJson: JSON.stringify(root) };
}

// --- keyless cosign layers signed in the private deployment -------------------------------------

export interface KeylessLayerOptions {
  sigstore: PrivateSigstore;
  leaf: Leaf;
  imageDigest: string;
  /** Unix seconds; null for no Rekor entry. */
  integratedTime: number | null;
  logIndex?: number;
  /** Certificate PEM the Rekor body names (default: the leaf). */
  bodyCertPem?: string;
}

/** A classic keyless .sig layer: simple-signing payload, certificate, chain and Rekor bundle annotations. */
export function keylessSignatureLayer(o: KeylessLayerOptions): LayerSpec {
  const content = simpleSigningPayload(o.imageDigest);
  const signature = signBytes(o.leaf.key, content);
  const annotations: Record<string, string> = {
    "dev.cosignproject.cosign/signature": signature.toString("base64"),
    "dev.sigstore.cosign/certificate": o.leaf.pem,
    "dev.sigstore.cosign/chain": o.sigstore.ca.pem,
  };
  if (o.integratedTime !== null) {
    annotations["dev.sigstore.cosign/bundle"] = rekorBundleAnnotation({
      body: hashedRekordBody(content, signature, o.bodyCertPem ?? o.leaf.pem),
      integratedTime: o.integratedTime,
      logIndex: o.logIndex ?? 7,
      log: o.sigstore.rekor,
    });
  }
  return { mediaType: SIMPLE_SIGNING, content, annotations };
}

/** A legacy keyless .att layer (DSSE envelope, dsse 0.0.1 Rekor entry). */
export function keylessAttestationLayer(o: KeylessLayerOptions & { statement: Buffer; predicateType: string }): LayerSpec {
  const layer = dsseLayer(o.statement, o.leaf.key, { "dev.sigstore.cosign/certificate": o.leaf.pem, "dev.sigstore.cosign/chain": o.sigstore.ca.pem }, o.predicateType);
  if (o.integratedTime !== null) {
    layer.annotations["dev.sigstore.cosign/bundle"] = rekorBundleAnnotation({
      body: dsseBody(layer.content, o.statement, layer.signature, o.bodyCertPem ?? o.leaf.pem),
      integratedTime: o.integratedTime,
      logIndex: o.logIndex ?? 8,
      log: o.sigstore.rekor,
    });
  }
  return layer;
}
