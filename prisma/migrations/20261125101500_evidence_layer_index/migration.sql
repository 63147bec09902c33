-- Evidence rows are keyed by layer position: several signatures of one image share a payload blob
-- (the same layer digest) and differ only in their annotations.

-- DropIndex
DROP INDEX "Evidence_imageId_artifactDigest_layerDigest_key";

-- AlterTable
ALTER TABLE "Evidence" ADD COLUMN     "layerIndex" INTEGER NOT NULL DEFAULT 0;

-- Backfill from the stored layer (rows written before this migration carry their index in raw)
UPDATE "Evidence" SET "layerIndex" = COALESCE(("raw" -> 'layer' ->> 'index')::int, 0);

-- CreateIndex
CREATE UNIQUE INDEX "Evidence_imageId_artifactDigest_layerIndex_key" ON "Evidence"("imageId", "artifactDigest", "layerIndex");
