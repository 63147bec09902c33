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
