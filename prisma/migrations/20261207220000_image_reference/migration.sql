-- The image list's search by tag reads the distinct references containers wrote per image from a table
-- of its own (ImageReference, ~10,000 rows at 100,000 containers) instead of a trigram index over every
-- container's reference: that index was most of the cost of writing a cluster's containers (a full
-- scan's first inventory). Rows are added where containers are written (lib/scan/persist-inventory.ts
-- writeRows, a resolved tag in lib/scan/pipeline.ts) and kept as containers are.
CREATE TABLE "ImageReference" (
    "imageId" UUID NOT NULL,
    "ref" TEXT NOT NULL,
    "firstSeen" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ImageReference_pkey" PRIMARY KEY ("imageId","ref")
);

ALTER TABLE "ImageReference" ADD CONSTRAINT "ImageReference_imageId_fkey" FOREIGN KEY ("imageId") REFERENCES "Image"("id") ON DELETE CASCADE ON UPDATE CASCADE;

INSERT INTO "ImageReference" ("imageId", "ref", "firstSeen")
SELECT "imageId", "imageRef", min("firstSeen") FROM "Container" WHERE "imageId" IS NOT NULL GROUP BY "imageId", "imageRef";

CREATE INDEX "ImageReference_ref_trgm_idx" ON "ImageReference" USING GIN ("ref" gin_trgm_ops);

DROP INDEX "Container_imageRef_trgm_idx";
