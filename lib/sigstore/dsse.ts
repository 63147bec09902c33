/** DSSE envelopes (legacy cosign .att layer blobs). */
import { z } from "zod";
import { LIMITS } from "./limits";
import { decodeBase64, parseJson, parseWith } from "./encoding";

export const DSSE_MEDIA_TYPE = "application/vnd.dsse.envelope.v1+json";
export const IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json";

const envelopeSchema = z.object({
  payloadType: z.string().max(256),
  payload: z.string().max(LIMITS.layerBytes * 2),
  signatures: z
    .array(z.object({ keyid: z.string().max(1024).optional(), sig: z.string().max(LIMITS.signatureBytes * 2) }).loose())
    .min(1)
    .max(16),
}).loose();

export interface DsseEnvelope {
  payloadType: string;
  /** Decoded payload bytes. */
  payload: Buffer;
  signatures: Array<{ keyid: string; sig: Buffer }>;
  /** The envelope JSON as stored (the JSON object, for conversion to a Sigstore bundle). */
  json: { payloadType: string; payload: string; signatures: Array<{ keyid?: string; sig: string }> };
}

export function parseDsseEnvelope(bytes: Buffer): DsseEnvelope {
  const json = parseWith(envelopeSchema, parseJson(bytes, "envelope", LIMITS.layerBytes), "envelope");
  const payload = decodeBase64(json.payload, "envelope.payload", LIMITS.layerBytes);
  const signatures = json.signatures.map((s, i) => ({
    keyid: s.keyid ?? "",
    sig: decodeBase64(s.sig, `envelope.signatures.${i}.sig`, LIMITS.signatureBytes),
  }));
  return {
    payloadType: json.payloadType,
    payload,
    signatures,
    json: {
      payloadType: json.payloadType,
      payload: json.payload,
      signatures: json.signatures.map((s) => ({ keyid: s.keyid ?? "", sig: s.sig })),
    },
  };
}
