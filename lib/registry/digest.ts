import { createHash } from "node:crypto";

/** Digest algorithms we can verify; anything else is rejected rather than trusted unchecked. */
export type DigestAlgorithm = "sha256" | "sha512";

const DIGEST_RE = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

/** True for "sha256:<64 lower-case hex>" or "sha512:<128 lower-case hex>". */
export function isDigest(value: string): boolean {
  return DIGEST_RE.test(value);
}

export function parseDigest(value: string): { algorithm: DigestAlgorithm; hex: string } {
  if (!isDigest(value)) throw new TypeError(`not a supported digest: ${JSON.stringify(value.slice(0, 140))}`);
  const i = value.indexOf(":");
  return { algorithm: value.slice(0, i) as DigestAlgorithm, hex: value.slice(i + 1) };
}

/** The digest of `bytes` in the given algorithm, as "alg:hex". */
export function computeDigest(bytes: Uint8Array, algorithm: DigestAlgorithm = "sha256"): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest("hex")}`;
}

/** Whether `bytes` hash to `digest` (whose algorithm decides the hash). */
export function matchesDigest(bytes: Uint8Array, digest: string): boolean {
  const { algorithm } = parseDigest(digest);
  return computeDigest(bytes, algorithm) === digest;
}

/**
 * The tag cosign and the OCI referrers tag schema derive from a digest: "sha256:<hex>" → "sha256-<hex>".
 * cosign appends ".sig", ".att" or ".sbom"; the referrers fallback index uses it bare.
 */
export function digestTag(digest: string, suffix?: "sig" | "att" | "sbom"): string {
  const { algorithm, hex } = parseDigest(digest);
  return `${algorithm}-${hex}${suffix ? `.${suffix}` : ""}`;
}
