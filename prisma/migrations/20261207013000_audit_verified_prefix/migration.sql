-- A full walk of the audit chain records, signed, how far it verified it; the auditor's report walks only
-- the events after the newest such statement (docs/decisions/0008, incremental walk).
CREATE TABLE "AuditVerifiedPrefix" (
    "id" BIGSERIAL NOT NULL,
    "seq" BIGINT NOT NULL,
    "hash" TEXT NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL,
    "events" INTEGER NOT NULL,
    "keyId" TEXT NOT NULL,
    "signature" TEXT NOT NULL,

    CONSTRAINT "AuditVerifiedPrefix_pkey" PRIMARY KEY ("id")
);
