-- Export-key rotation (docs/decisions/0015): the public half of every key rotated away, with the
-- period it was current, stays published so exports signed with it remain verifiable.
CREATE TABLE "RetiredServerKey" (
    "fingerprint" TEXT NOT NULL,
    "purpose" TEXT NOT NULL,
    "algorithm" TEXT NOT NULL,
    "publicKeyPem" TEXT NOT NULL,
    "validFrom" TIMESTAMPTZ(3) NOT NULL,
    "validUntil" TIMESTAMPTZ(3) NOT NULL,
    "retiredBy" TEXT NOT NULL,

    CONSTRAINT "RetiredServerKey_pkey" PRIMARY KEY ("fingerprint")
);

CREATE INDEX "RetiredServerKey_purpose_validUntil_idx" ON "RetiredServerKey"("purpose", "validUntil");
