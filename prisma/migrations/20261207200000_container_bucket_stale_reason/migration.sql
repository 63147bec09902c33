-- Why a stale container is stale, as the overview's stale groups name it (lib/coverage/compute
-- CoverageAccumulator): md5 of the group's reason text (an error message may be longer than an index
-- entry can hold), so each group's count opens exactly its containers (docs/decisions/0026).
ALTER TABLE "ContainerBucket" ADD COLUMN "staleReasonKey" TEXT;

CREATE INDEX "ContainerBucket_staleReasonKey_containerId_idx" ON "ContainerBucket"("staleReasonKey", "containerId");

-- the stored buckets have no reason yet: the next snapshot reads every container, not a copy of the latest
UPDATE "CoverageSnapshot" SET inputs = NULL WHERE inputs IS NOT NULL;
