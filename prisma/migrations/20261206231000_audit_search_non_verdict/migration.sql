-- The audit text search covers administrative, scan and system events only: verdict events (the bulk
-- of the log, written by every scan batch) are found by their digest, cluster and verdict filters, and
-- keeping them out of the trigram index keeps appends cheap. Same expression as lib/data/audit.ts SEARCH_TEXT.
DROP INDEX IF EXISTS "VerificationEvent_search_trgm_idx";
CREATE INDEX "VerificationEvent_search_trgm_idx" ON "VerificationEvent" USING GIN (
  (lower(coalesce("actor", '') || ' ' || coalesce("clusterName", '') || ' ' || coalesce("namespace", '') || ' ' || coalesce("workload", '') || ' ' || coalesce("imageDigest", '') || ' ' || coalesce("policyName", '') || ' ' || "details"::text)) gin_trgm_ops
) WHERE "kind" <> 'verdict';
