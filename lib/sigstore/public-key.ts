/** PEM public keys supplied by policies (cosign.pub and friends): parse, classify, fingerprint. */
import { createPublicKey, type KeyObject } from "node:crypto";
import { LIMITS } from "./limits";
import { MalformedError, sha256Hex } from "./encoding";
import type { KeyAlgorithm, PublicKeyCandidate } from "./types";

/** A candidate key ready for verification. */
export interface ParsedPublicKey {
  keyId: string;
  /** "sha256:<hex of the SPKI DER>" */
  fingerprint: string;
  algorithm: KeyAlgorithm;
  /** RSA modulus length; null for other keys. */
  bits: number | null;
  keyObject: KeyObject;
  spki: Buffer;
}

const PEM_LABEL = /-----BEGIN ([A-Z0-9 ]+)-----/g;
const ALLOWED_LABELS = new Set(["PUBLIC KEY", "RSA PUBLIC KEY"]);
const CURVES: Record<string, KeyAlgorithm> = {
  prime256v1: "ecdsa-p256",
  secp384r1: "ecdsa-p384",
  secp521r1: "ecdsa-p521",
};
/** RSA keys shorter than this are refused: a forged "verified" is the worst outcome. */
export const MIN_RSA_BITS = 2048;

/**
 * Parses one PEM public key. Throws MalformedError for anything but exactly one PUBLIC KEY / RSA
 * PUBLIC KEY block holding an ECDSA P-256/384/521, RSA (≥ 2048 bits) or Ed25519 key. Private keys are
 * refused even though node could derive a public key from them.
 */
export function parsePublicKey(pem: string, keyId = ""): ParsedPublicKey {
  if (typeof pem !== "string" || pem.length > LIMITS.pemChars) throw new MalformedError("publicKey", "missing or too large");
  const labels = [...pem.matchAll(PEM_LABEL)].map((m) => m[1] ?? "");
  if (labels.length !== 1 || !ALLOWED_LABELS.has(labels[0] ?? "")) {
    throw new MalformedError("publicKey", "expected exactly one PUBLIC KEY PEM block");
  }
  let keyObject: KeyObject;
  try {
    keyObject = createPublicKey({ key: pem, format: "pem" });
  } catch {
    throw new MalformedError("publicKey", "unreadable PEM public key");
  }
  return fromKeyObject(keyObject, keyId);
}

/** Parses a DER SubjectPublicKeyInfo (e.g. from a Rekor body or a bundle). */
export function parsePublicKeyDer(spki: Buffer, keyId = ""): ParsedPublicKey {
  let keyObject: KeyObject;
  try {
    keyObject = createPublicKey({ key: spki, format: "der", type: "spki" });
  } catch {
    throw new MalformedError("publicKey", "unreadable DER public key");
  }
  return fromKeyObject(keyObject, keyId);
}

function fromKeyObject(keyObject: KeyObject, keyId: string): ParsedPublicKey {
  if (keyObject.type !== "public") throw new MalformedError("publicKey", "not a public key");
  let algorithm: KeyAlgorithm;
  let bits: number | null = null;
  const details = keyObject.asymmetricKeyDetails ?? {};
  switch (keyObject.asymmetricKeyType) {
    case "ec": {
      const curve = CURVES[details.namedCurve ?? ""];
      if (!curve) throw new MalformedError("publicKey", `unsupported curve ${details.namedCurve ?? "?"}`);
      algorithm = curve;
      break;
    }
    case "rsa":
      bits = details.modulusLength ?? 0;
      if (bits < MIN_RSA_BITS) throw new MalformedError("publicKey", `RSA key too short (${bits} bits)`);
      algorithm = "rsa";
      break;
    case "ed25519":
      algorithm = "ed25519";
      break;
    default:
      throw new MalformedError("publicKey", `unsupported key type ${keyObject.asymmetricKeyType ?? "?"}`);
  }
  const spki = keyObject.export({ type: "spki", format: "der" });
  return { keyId, fingerprint: `sha256:${sha256Hex(spki)}`, algorithm, bits, keyObject, spki };
}

/** Candidate keys of one call, parsed once; unusable candidates are reported, not thrown. */
export interface CandidateKeys {
  usable: ParsedPublicKey[];
  rejected: Array<{ keyId: string; message: string }>;
}

const cache = new Map<string, ParsedPublicKey>();
const CACHE_MAX = 1024;

/** Parses policy keys with a small cache (the same few keys verify thousands of digests). */
export function parseCandidateKeys(candidates: readonly PublicKeyCandidate[]): CandidateKeys {
  const usable: ParsedPublicKey[] = [];
  const rejected: CandidateKeys["rejected"] = [];
  for (const candidate of candidates.slice(0, LIMITS.candidateKeys)) {
    const keyId = typeof candidate?.keyId === "string" ? candidate.keyId : "";
    const pem = candidate?.pem;
    try {
      if (typeof pem !== "string") throw new MalformedError("publicKey", "missing PEM");
      let parsed = cache.get(pem);
      if (!parsed) {
        parsed = parsePublicKey(pem);
        if (cache.size >= CACHE_MAX) cache.clear();
        cache.set(pem, parsed);
      }
      usable.push({ ...parsed, keyId });
    } catch (err) {
      rejected.push({ keyId, message: err instanceof Error ? err.message : "unusable key" });
    }
  }
  if (candidates.length > LIMITS.candidateKeys) {
    rejected.push({ keyId: "", message: `only the first ${LIMITS.candidateKeys} candidate keys are evaluated` });
  }
  return { usable, rejected };
}
