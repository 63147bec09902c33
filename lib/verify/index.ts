/**
 * lib/verify — one image reference (or one blob's Sigstore bundle) checked end to end without a
 * database: discovery (lib/registry) → verification (lib/sigstore) → facts (lib/scan/facts) → policy
 * (lib/policy). Used by `signet verify` and `signet verify-bundle`.
 */
export { verifyImage, evaluateDiscovered, summarizeEvidence, exitCodeOf, type ImageVerification, type PolicyResult, type EvidenceSummary, type VerifyImageInput } from "./image";
export { compilePolicyFile, readPolicyFile, appliesToImage, candidateKeys, trustedRootSpec, loadTrustRoots, missingTrustedRoots, PolicyFileError } from "./policies";
export { verifyBundle, hashFile, type BundleArtifact, type BundleTrustPolicy, type BundleVerification, type VerifyBundleInput } from "./bundle";
export { loadCredentialsFile } from "@/lib/registry/credentials-file";
