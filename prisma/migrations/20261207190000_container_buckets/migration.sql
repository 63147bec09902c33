-- Each running container's coverage bucket as of the latest coverage snapshot, written by the snapshot
-- from the rows its figures come from (lib/scan/snapshot.ts): the containers list behind a count reads
-- it (lib/data/drilldown listContainersInBuckets; docs/decisions/0026). A table of its own, not a column
-- of "Container": writing it fires none of Container's triggers (coverage inputs, ADR 0023; image
-- inventory, ADR 0027) and rewrites none of Container's indexes.
CREATE TYPE "CoverageBucket" AS ENUM ('verified', 'failed', 'unsigned', 'error', 'stale', 'unmatched');

CREATE TABLE "ContainerBucket" (
    "containerId" UUID NOT NULL,
    "bucket" "CoverageBucket" NOT NULL,
    "clusterId" UUID NOT NULL,
    "namespaceId" UUID NOT NULL,
    CONSTRAINT "ContainerBucket_pkey" PRIMARY KEY ("containerId")
);

CREATE INDEX "ContainerBucket_bucket_containerId_idx" ON "ContainerBucket"("bucket", "containerId");
CREATE INDEX "ContainerBucket_clusterId_bucket_containerId_idx" ON "ContainerBucket"("clusterId", "bucket", "containerId");
CREATE INDEX "ContainerBucket_namespaceId_bucket_containerId_idx" ON "ContainerBucket"("namespaceId", "bucket", "containerId");

ALTER TABLE "ContainerBucket" ADD CONSTRAINT "ContainerBucket_containerId_fkey" FOREIGN KEY ("containerId") REFERENCES "Container"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- the buckets are empty: the next snapshot reads every container (and writes them), not a copy of the latest
UPDATE "CoverageSnapshot" SET inputs = NULL WHERE inputs IS NOT NULL;
