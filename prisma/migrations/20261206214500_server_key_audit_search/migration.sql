-- CreateTable
CREATE TABLE "ServerKey" (
    "purpose" TEXT NOT NULL,
    "algorithm" TEXT NOT NULL,
    "publicKeyPem" TEXT NOT NULL,
    "fingerprint" TEXT NOT NULL,
    "privateKeyEnc" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "ServerKey_pkey" PRIMARY KEY ("purpose")
);

-- The audit page's actor filter.
CREATE INDEX "VerificationEvent_actor_seq_idx" ON "VerificationEvent"("actor", "seq");

-- Failed sign-ins aggregated per client address too (lib/auth/throttle.ts recordFailedSignIn).
ALTER TABLE "AuthThrottle" ADD COLUMN "accounts" TEXT[] DEFAULT ARRAY[]::TEXT[];

-- The audit page's text search (lib/data/audit.ts SEARCH_TEXT, the same expression): LIKE '%term%'
-- through a trigram index. pg_trgm is a trusted extension (PostgreSQL 13+): a database owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX "VerificationEvent_search_trgm_idx" ON "VerificationEvent" USING GIN (
  (lower(coalesce("actor", '') || ' ' || coalesce("clusterName", '') || ' ' || coalesce("namespace", '') || ' ' || coalesce("workload", '') || ' ' || coalesce("imageDigest", '') || ' ' || coalesce("policyName", '') || ' ' || "details"::text)) gin_trgm_ops
);
