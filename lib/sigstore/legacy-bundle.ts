/**
 * Converts a legacy cosign layer (simple-signing or DSSE, with its annotations) into a Sigstore bundle
 * v0.1 so that @sigstore/verify checks it. Same mapping as sigstore-go's oci-image-verification example.
 * v0.1 (not v0.3) because cosign's Rekor annotation carries a SET but no inclusion proof.
 */
import { BUNDLE_V01_MEDIA_TYPE, bundleFromJSON, type Bundle, type SerializedBundle } from "@sigstore/bundle";
import { MalformedError } from "./encoding";
import { parseRekorBody, type RekorBundleAnnotation } from "./rekor";

export interface LegacyLayerMaterial {
  /** DER of the leaf certificate (keyless / cert signing), or null for key-based signatures. */
  certificateDer: Buffer | null;
  rekor: RekorBundleAnnotation | null;
  /** base64 DER TimeStampResp */
  rfc3161: string | null;
}

export type LegacyContent =
  | { type: "message"; payloadDigest: Buffer; signature: Buffer }
  | { type: "dsse"; envelope: { payloadType: string; payload: string; signatures: Array<{ keyid?: string; sig: string }> } };

/** Builds and validates the bundle (bundleFromJSON); throws MalformedError when sigstore-js refuses it. */
export function toLegacyBundle(material: LegacyLayerMaterial, content: LegacyContent): Bundle {
  const tlogEntries: SerializedBundle["verificationMaterial"]["tlogEntries"] = [];
  if (material.rekor) {
    const body = parseRekorBody(material.rekor.bodyBytes);
    tlogEntries.push({
      logIndex: String(material.rekor.logIndex),
      logId: { keyId: Buffer.from(material.rekor.logIdHex, "hex").toString("base64") },
      kindVersion: { kind: body.kind, version: body.apiVersion },
      integratedTime: String(material.rekor.integratedTime),
      inclusionPromise: { signedEntryTimestamp: material.rekor.signedEntryTimestamp },
      inclusionProof: undefined,
      canonicalizedBody: material.rekor.body,
    });
  }
  const json = {
    mediaType: BUNDLE_V01_MEDIA_TYPE,
    verificationMaterial: {
      ...(material.certificateDer
        ? { x509CertificateChain: { certificates: [{ rawBytes: material.certificateDer.toString("base64") }] } }
        : { publicKey: { hint: "" } }),
      tlogEntries,
      timestampVerificationData: material.rfc3161 ? { rfc3161Timestamps: [{ signedTimestamp: material.rfc3161 }] } : undefined,
    },
    ...(content.type === "message"
      ? {
          messageSignature: {
            messageDigest: { algorithm: "SHA2_256", digest: content.payloadDigest.toString("base64") },
            signature: content.signature.toString("base64"),
          },
        }
      : {
          dsseEnvelope: {
            payload: content.envelope.payload,
            payloadType: content.envelope.payloadType,
            signatures: content.envelope.signatures.map((s) => ({ sig: s.sig, keyid: s.keyid ?? "" })),
          },
        }),
  };
  try {
    return bundleFromJSON(json);
  } catch (err) {
    throw new MalformedError("bundle", err instanceof Error ? err.message : "sigstore-js refused the converted bundle");
  }
}
