/**
 * lib/sigstore — cryptographic verification of cosign / Sigstore evidence. Pure: no database, no
 * network, the clock is passed in. The TUF refresh (I/O) lives in lib/trust/tuf.ts.
 */
export { verifyArtifacts, type VerifyArtifactsInput } from "./verify-artifacts";
export {
  loadPublicGoodTrustRoot,
  parseTrustedRoot,
  readPublicGoodSeedBytes,
  trustedRootSchema,
  TrustRootError,
  PUBLIC_GOOD_ID,
  type TrustRoot,
} from "./trusted-root";
export { parsePublicKey, parseCandidateKeys, type ParsedPublicKey } from "./public-key";
export { parseCertificatePem, parseCertificateDer, describeKeylessSigner, type ParsedCertificate } from "./certificate";
export { parseDsseEnvelope } from "./dsse";
export { parseStatement, describeStatement } from "./in-toto";
export { extractProvenance } from "./provenance";
export { parseSimpleSigningPayload } from "./simple-signing";
export { parseRekorBundleAnnotation, parseRfc3161Annotation, parseRekorBody } from "./rekor";
export { parseSigstoreBundle } from "./verify-bundle-layer";
export { MalformedError } from "./encoding";
export { statusOf } from "./evidence";
export type * from "./types";
