/**
 * X.509 leaf certificates (Fulcio): node:crypto X509Certificate for the standard fields and
 * @sigstore/core's DER parser for the SAN and the Fulcio extensions node does not expose.
 */
import { X509Certificate as NodeX509 } from "node:crypto";
import { ASN1Obj, X509Certificate as CoreX509 } from "@sigstore/core";
import { LIMITS } from "./limits";
import { clip, decodePemBlocks, MalformedError, sha256Hex, wholeFact } from "./encoding";
import type { FulcioExtensions, KeylessSigner, SanType, SubjectAlternativeName } from "./types";

export interface ParsedCertificate {
  der: Buffer;
  node: NodeX509;
  core: CoreX509;
}

const OID_SAN = "2.5.29.17";
const OID_CODE_SIGNING = "1.3.6.1.5.5.7.3.3";
const FULCIO = "1.3.6.1.4.1.57264.1";
export const OID_ISSUER_V1 = `${FULCIO}.1`;
export const OID_ISSUER_V2 = `${FULCIO}.8`;
const OID_OTHERNAME_USERNAME = `${FULCIO}.7`;

/** Fulcio extensions: OID suffix → field, and whether the value is a DER UTF8String (.8+) or raw bytes (.1–.6). */
const FULCIO_FIELDS: Array<[number, keyof FulcioExtensions, "raw" | "der"]> = [
  [1, "issuerV1", "raw"],
  [2, "githubWorkflowTrigger", "raw"],
  [3, "githubWorkflowSha", "raw"],
  [4, "githubWorkflowName", "raw"],
  [5, "githubWorkflowRepository", "raw"],
  [6, "githubWorkflowRef", "raw"],
  [8, "issuerV2", "der"],
  [9, "buildSignerUri", "der"],
  [10, "buildSignerDigest", "der"],
  [11, "runnerEnvironment", "der"],
  [12, "sourceRepositoryUri", "der"],
  [13, "sourceRepositoryDigest", "der"],
  [14, "sourceRepositoryRef", "der"],
  [15, "sourceRepositoryIdentifier", "der"],
  [16, "sourceRepositoryOwnerUri", "der"],
  [17, "sourceRepositoryOwnerIdentifier", "der"],
  [18, "buildConfigUri", "der"],
  [19, "buildConfigDigest", "der"],
  [20, "buildTrigger", "der"],
  [21, "runInvocationUri", "der"],
  [22, "sourceRepositoryVisibilityAtSigning", "der"],
  [23, "deploymentEnvironment", "der"],
];

/** Parses one DER certificate with both parsers; either failing is malformed. */
export function parseCertificateDer(der: Buffer, field = "certificate"): ParsedCertificate {
  if (der.length === 0 || der.length > LIMITS.pemChars) throw new MalformedError(field, "empty or too large");
  try {
    const copy = Buffer.from(der);
    return { der: copy, node: new NodeX509(copy), core: CoreX509.parse(copy) };
  } catch {
    throw new MalformedError(field, "unreadable X.509 certificate");
  }
}

/** The DER of a PEM holding exactly one certificate (the cosign certificate annotation), not yet parsed. */
export function certificateDerFromPem(pem: string, field = "certificate"): Buffer {
  if (pem.length > LIMITS.pemChars) throw new MalformedError(field, "too large");
  const blocks = decodePemBlocks(pem, "CERTIFICATE", field, 2);
  if (blocks.length !== 1 || !blocks[0]) throw new MalformedError(field, "expected exactly one PEM certificate");
  return blocks[0];
}

/** Parses a PEM holding exactly one certificate. */
export function parseCertificatePem(pem: string, field = "certificate"): ParsedCertificate {
  return parseCertificateDer(certificateDerFromPem(pem, field), field);
}

export function hasCodeSigningEku(cert: ParsedCertificate): boolean {
  const eku = cert.node.keyUsage;
  return Array.isArray(eku) && eku.includes(OID_CODE_SIGNING);
}

/** Subject alternative names, in certificate order. */
export function readSubjectAlternativeNames(cert: ParsedCertificate): SubjectAlternativeName[] {
  const ext = cert.core.extension(OID_SAN);
  if (!ext) return [];
  const sequence = ext.valueObj.subs[0];
  if (!sequence) throw new MalformedError("certificate.san", "empty extension");
  const names: SubjectAlternativeName[] = [];
  for (const gn of sequence.subs.slice(0, 16)) {
    if (names.length >= 4) break;
    const tag = gn.tag;
    if (!tag.isContextSpecific()) continue;
    const type = SAN_TAGS[tag.number];
    if (!type) continue;
    if (type === "othername") {
      // OtherName ::= SEQUENCE { type-id OID, value [0] EXPLICIT ANY } — Fulcio uses a UTF8String.
      const oid = gn.subs[0]?.toOID();
      const inner = gn.subs[1]?.subs[0];
      if (oid === undefined || !inner) continue;
      const value = inner.value.toString("utf8");
      names.push({ type, value: wholeFact(oid === OID_OTHERNAME_USERNAME ? value : `${oid}:${value}`, LIMITS.factChars, "certificate.san") });
    } else if (type === "ip") {
      names.push({ type, value: formatIp(gn.value) });
    } else {
      names.push({ type, value: wholeFact(gn.value.toString("utf8"), LIMITS.factChars, "certificate.san") });
    }
  }
  return names;
}

const SAN_TAGS: Record<number, SanType | undefined> = { 0: "othername", 1: "email", 2: "dns", 6: "uri", 7: "ip" };

function formatIp(bytes: Buffer): string {
  if (bytes.length === 4) return [...bytes].join(".");
  return bytes.toString("hex");
}

export function readFulcioExtensions(cert: ParsedCertificate): FulcioExtensions {
  const out = Object.fromEntries(FULCIO_FIELDS.map(([, name]) => [name, null])) as unknown as FulcioExtensions;
  for (const [suffix, name, encoding] of FULCIO_FIELDS) {
    const ext = cert.core.extension(`${FULCIO}.${suffix}`);
    if (!ext) continue;
    out[name] = wholeFact(encoding === "raw" ? ext.value.toString("utf8") : readUtf8String(ext.value, name), LIMITS.factChars, `certificate.${name}`);
  }
  return out;
}

function readUtf8String(value: Buffer, field: string): string {
  let obj: ASN1Obj;
  try {
    obj = ASN1Obj.parseBuffer(Buffer.from(value));
  } catch {
    throw new MalformedError(`certificate.${field}`, "not DER");
  }
  // 0x0C UTF8String; Fulcio writes nothing else from .8 on.
  if (obj.tag.constructed || obj.tag.number !== 0x0c || obj.tag.class !== 0) {
    throw new MalformedError(`certificate.${field}`, "not a UTF8String");
  }
  return obj.value.toString("utf8");
}

function formatDn(dn: string | undefined): string {
  // node returns undefined for an empty name (Fulcio leaves have an empty subject).
  return (dn ?? "").split("\n").join(", ");
}

/** Everything a keyless policy matches on, read from the (not yet trusted) leaf. */
export function describeKeylessSigner(cert: ParsedCertificate): KeylessSigner {
  const sans = readSubjectAlternativeNames(cert);
  const extensions = readFulcioExtensions(cert);
  const issuer = extensions.issuerV2 ?? extensions.issuerV1;
  const first = sans[0];
  return {
    kind: "keyless",
    identity: first?.value ?? "",
    identityType: first?.type ?? "email",
    subjectAlternativeNames: sans,
    issuer,
    issuerSource: extensions.issuerV2 !== null ? OID_ISSUER_V2 : extensions.issuerV1 !== null ? OID_ISSUER_V1 : null,
    certificate: {
      serialNumber: cert.node.serialNumber.toUpperCase(),
      notBefore: cert.node.validFromDate.toISOString(),
      notAfter: cert.node.validToDate.toISOString(),
      issuerDN: clip(formatDn(cert.node.issuer), LIMITS.factChars),
      subjectDN: clip(formatDn(cert.node.subject), LIMITS.factChars),
      fingerprint: `sha256:${sha256Hex(cert.der)}`,
    },
    extensions,
  };
}

/** Whether `at` lies within the leaf's validity period. */
export function isValidAt(cert: ParsedCertificate, at: Date): boolean {
  return cert.node.validFromDate.getTime() <= at.getTime() && at.getTime() <= cert.node.validToDate.getTime();
}
