/**
 * Importers of the policies clusters enforce, into read-only Signet policy documents (pure):
 * sigstore policy-controller `ClusterImagePolicy` (lib/policy/import/cluster-image-policy.ts) and Kyverno
 * `ClusterPolicy` / `Policy` verifyImages and `ImageValidatingPolicy` (lib/policy/import/kyverno.ts).
 * What cannot be expressed is listed in `unsupported` (never silently dropped, made stricter or looser);
 * when nothing usable remains, no document is produced.
 */
export { importClusterImagePolicy } from "@/lib/policy/import/cluster-image-policy";
export { importImageValidatingPolicy, importKyvernoPolicy } from "@/lib/policy/import/kyverno";
export { COSIGN_PREDICATE_TYPES, normalizePredicateType, splitPemKeys, type ImportResult } from "@/lib/policy/import/common";
