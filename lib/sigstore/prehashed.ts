/**
 * Message signatures checked from the artifact's SHA-256 digest alone (sigstore-conformance's
 * `verify-bundle … sha256:<hex>`). ECDSA signs the hash it is given, so an ECDSA signature whose bundle
 * names a SHA-256 message digest is verified over that digest; Ed25519 signs the message itself and RSA is
 * not supported here: both are refused with a reason. node:crypto has no ECDSA verification over a given
 * digest: @noble/curves (audited) does it.
 */
import type { KeyObject } from "node:crypto";
import { p256, p384, p521 } from "@noble/curves/nist.js";
import type { SignedEntity } from "@sigstore/verify";

type SignatureContent = SignedEntity["signature"];

export interface PrehashedContent {
  content: SignatureContent;
  /** Why the signing key cannot be verified from a digest, once a verification was attempted with one; else null. */
  unsupported(): string | null;
}

function describeKey(key: KeyObject): string {
  const d = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === "ec") return `ECDSA ${d?.namedCurve ?? "?"}`;
  if (key.asymmetricKeyType === "rsa" || key.asymmetricKeyType === "rsa-pss") return `RSA ${d?.modulusLength ?? "?"}`;
  if (key.asymmetricKeyType === "ed25519") return "Ed25519";
  return key.asymmetricKeyType ?? "unknown";
}

const CURVES = { prime256v1: p256, secp384r1: p384, secp521r1: p521 } as const;

const equal = (a: Buffer, b: Buffer) => a.length === b.length && a.equals(b);

/** Signature content whose signature is verified over `digest` (32 bytes of SHA-256), not over bytes. */
export function prehashedSignatureContent(signature: Buffer, digest: Buffer): PrehashedContent {
  let unsupported: string | null = null;
  const content: SignatureContent = {
    signature,
    compareSignature: (s) => equal(s, signature),
    compareDigest: (d) => equal(d, digest),
    compareSignedDigest: (d) => equal(d, digest),
    verifySignature: (key: KeyObject) => {
      const curve = key.asymmetricKeyType === "ec" ? CURVES[key.asymmetricKeyDetails?.namedCurve as keyof typeof CURVES] : undefined;
      if (!curve) {
        unsupported = `${describeKey(key)} signatures cannot be verified from a SHA-256 digest (only ECDSA signs the digest itself): give the file`;
        return false;
      }
      const jwk = key.export({ format: "jwk" });
      if (!jwk.x || !jwk.y) return false;
      const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x, "base64url"), Buffer.from(jwk.y, "base64url")]);
      try {
        // Go and OpenSSL signers do not normalize s: high-S signatures are valid ECDSA
        return curve.verify(signature, digest, point, { prehash: false, format: "der", lowS: false });
      } catch {
        return false;
      }
    },
  };
  return { content, unsupported: () => unsupported };
}
