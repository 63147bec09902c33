/**
 * Rekor material in cosign legacy layers: the `dev.sigstore.cosign/bundle` annotation (RekorBundle,
 * SET only), the `dev.sigstore.cosign/rfc3161timestamp` annotation, and the canonicalized entry body
 * (to bind it to the layer's key or certificate, which sigstore-js does not check).
 */
import { z } from "zod";
import { LIMITS } from "./limits";
import { decodeBase64, MalformedError, parseJson, parseWith } from "./encoding";

export const ANNOTATION_SIGNATURE = "dev.cosignproject.cosign/signature";
export const ANNOTATION_CERTIFICATE = "dev.sigstore.cosign/certificate";
export const ANNOTATION_CHAIN = "dev.sigstore.cosign/chain";
export const ANNOTATION_BUNDLE = "dev.sigstore.cosign/bundle";
export const ANNOTATION_RFC3161 = "dev.sigstore.cosign/rfc3161timestamp";
export const ANNOTATION_PREDICATE_TYPE = "predicateType";

const int = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

const rekorBundleSchema = z.object({
  SignedEntryTimestamp: z.string().min(1).max(LIMITS.signatureBytes * 2),
  Payload: z.object({
    body: z.string().min(1).max(LIMITS.tlogBodyBytes * 2),
    integratedTime: int,
    logIndex: int,
    logID: z.string().regex(/^[0-9a-f]{64}$/),
  }).loose(),
}).loose();

export interface RekorBundleAnnotation {
  signedEntryTimestamp: string;
  /** base64 of the canonicalized entry body, as signed by the SET */
  body: string;
  bodyBytes: Buffer;
  integratedTime: number;
  logIndex: number;
  logIdHex: string;
}

export function parseRekorBundleAnnotation(value: string): RekorBundleAnnotation {
  const json = parseWith(rekorBundleSchema, parseJson(value, "rekorBundle", LIMITS.annotationChars), "rekorBundle");
  decodeBase64(json.SignedEntryTimestamp, "rekorBundle.SignedEntryTimestamp", LIMITS.signatureBytes);
  const bodyBytes = decodeBase64(json.Payload.body, "rekorBundle.Payload.body", LIMITS.tlogBodyBytes);
  return {
    signedEntryTimestamp: json.SignedEntryTimestamp,
    body: json.Payload.body,
    bodyBytes,
    integratedTime: json.Payload.integratedTime,
    logIndex: json.Payload.logIndex,
    logIdHex: json.Payload.logID,
  };
}

const rfc3161Schema = z.object({ SignedRFC3161Timestamp: z.string().min(1).max(LIMITS.tlogBodyBytes * 2) }).loose();

/** Returns the base64 DER TimeStampResp. */
export function parseRfc3161Annotation(value: string): string {
  const json = parseWith(rfc3161Schema, parseJson(value, "rfc3161timestamp", LIMITS.annotationChars), "rfc3161timestamp");
  decodeBase64(json.SignedRFC3161Timestamp, "rfc3161timestamp", LIMITS.tlogBodyBytes);
  return json.SignedRFC3161Timestamp;
}

/** Key material named by a Rekor entry body. */
export type BodyVerifier = { type: "pem"; pem: string } | { type: "der-key"; der: Buffer } | { type: "der-cert"; der: Buffer };

export interface RekorBody {
  kind: string;
  apiVersion: string;
  /** Every key / certificate the entry names as the signer. */
  verifiers: BodyVerifier[];
}

const bodyHeaderSchema = z.object({ kind: z.string().max(64), apiVersion: z.string().max(32), spec: z.unknown() }).loose();
const b64Pem = z.string().min(1).max(LIMITS.pemChars * 2);
const hashedrekord001 = z.object({ signature: z.object({ publicKey: z.object({ content: b64Pem }).loose() }).loose() }).loose();
const dsse001 = z.object({ signatures: z.array(z.object({ verifier: b64Pem }).loose()).min(1).max(16) }).loose();
const intoto002 = z.object({
  content: z.object({ envelope: z.object({ signatures: z.array(z.object({ publicKey: b64Pem }).loose()).min(1).max(16) }).loose() }).loose(),
}).loose();
const intoto001 = z.object({ publicKey: b64Pem }).loose();
const v2Verifier = z.object({
  publicKey: z.object({ rawBytes: b64Pem }).loose().optional(),
  x509Certificate: z.object({ rawBytes: b64Pem }).loose().optional(),
}).loose();
const hashedrekord002 = z.object({ hashedRekordV002: z.object({ signature: z.object({ verifier: v2Verifier }).loose() }).loose() }).loose();
const dsse002 = z.object({ dsseV002: z.object({ signatures: z.array(z.object({ verifier: v2Verifier }).loose()).min(1).max(16) }).loose() }).loose();

function pemOf(b64: string, field: string): BodyVerifier {
  return { type: "pem", pem: decodeBase64(b64, field, LIMITS.pemChars).toString("utf8") };
}

function v2(verifier: z.output<typeof v2Verifier>, field: string): BodyVerifier {
  if (verifier.x509Certificate) return { type: "der-cert", der: decodeBase64(verifier.x509Certificate.rawBytes, field, LIMITS.pemChars) };
  if (verifier.publicKey) return { type: "der-key", der: decodeBase64(verifier.publicKey.rawBytes, field, LIMITS.pemChars) };
  throw new MalformedError(field, "no verifier");
}

/** Parses a canonicalized Rekor entry body and extracts the signer key material. */
export function parseRekorBody(bytes: Buffer): RekorBody {
  const header = parseWith(bodyHeaderSchema, parseJson(bytes, "tlogBody", LIMITS.tlogBodyBytes), "tlogBody");
  const { kind, apiVersion, spec } = header;
  const verifiers: BodyVerifier[] = [];
  const key = `${kind}/${apiVersion}`;
  switch (key) {
    case "hashedrekord/0.0.1":
      verifiers.push(pemOf(parseWith(hashedrekord001, spec, "tlogBody.spec").signature.publicKey.content, "tlogBody.publicKey"));
      break;
    case "dsse/0.0.1":
      for (const s of parseWith(dsse001, spec, "tlogBody.spec").signatures) verifiers.push(pemOf(s.verifier, "tlogBody.verifier"));
      break;
    case "intoto/0.0.2":
      for (const s of parseWith(intoto002, spec, "tlogBody.spec").content.envelope.signatures) {
        verifiers.push(pemOf(s.publicKey, "tlogBody.publicKey"));
      }
      break;
    case "intoto/0.0.1":
      verifiers.push(pemOf(parseWith(intoto001, spec, "tlogBody.spec").publicKey, "tlogBody.publicKey"));
      break;
    case "hashedrekord/0.0.2":
      verifiers.push(v2(parseWith(hashedrekord002, spec, "tlogBody.spec").hashedRekordV002.signature.verifier, "tlogBody.verifier"));
      break;
    case "dsse/0.0.2":
      for (const s of parseWith(dsse002, spec, "tlogBody.spec").dsseV002.signatures) verifiers.push(v2(s.verifier, "tlogBody.verifier"));
      break;
    default:
      // Unknown kinds are rejected by sigstore-js' body check; nothing to bind here.
      break;
  }
  return { kind, apiVersion, verifiers };
}
