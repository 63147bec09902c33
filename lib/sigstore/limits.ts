/**
 * Size bounds for untrusted input. Everything the verifier reads comes from a registry that anyone who
 * can create a pod controls, so every buffer, string and list is bounded before it is parsed.
 */
export const LIMITS = {
  /** A simple-signing payload, DSSE envelope or Sigstore bundle (SLSA provenance can be ~100 KiB). */
  layerBytes: 4 * 1024 * 1024,
  /** One annotation value (certificate, chain, Rekor bundle, RFC 3161 timestamp). */
  annotationChars: 256 * 1024,
  /** PEM of a candidate public key or a certificate. */
  pemChars: 64 * 1024,
  /** A decoded signature. */
  signatureBytes: 16 * 1024,
  /** A decoded Rekor entry body or RFC 3161 response. */
  tlogBodyBytes: 512 * 1024,
  /** Evidence items produced for one image digest (cosign allows 1000 layers per signature manifest). */
  evidencePerImage: 2000,
  /** Candidate keys evaluated per call. */
  candidateKeys: 256,
  /** tlog entries / timestamps per bundle. */
  tlogEntries: 8,
  timestamps: 8,
  /** Statement subjects and provenance materials kept in the output (one evidence stays well under 256 KiB). */
  subjectsKept: 16,
  materialsKept: 16,
  /** Longest string copied from a payload into the output. */
  factChars: 2048,
  /** Serialized size of a free-form object (annotations) copied into the output. */
  recordChars: 16 * 1024,
  /** trusted_root.json */
  trustedRootBytes: 1024 * 1024,
} as const;
