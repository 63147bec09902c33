-- The image list at 100,000 images (issue 15): its count of running images, whole or by registry and / or
-- verdict, from a small index (index-only), and its cluster filter from "runningClusters" — the clusters
-- an image's running containers are in, kept with "runningContainers" by the same aggregate at scan and
-- watch time (lib/scan/persist-inventory.ts updateRunningContainers, lib/scan/evaluate-image.ts) —
-- instead of a pass over every container and pod.
ALTER TABLE "Image" ADD COLUMN     "runningClusters" UUID[] DEFAULT ARRAY[]::UUID[];

CREATE INDEX "Image_registry_verdict_runningContainers_idx" ON "Image"("registry", "verdict", "runningContainers");

CREATE INDEX "Image_runningClusters_idx" ON "Image" USING GIN ("runningClusters");

-- where each image runs today (every scan keeps it)
UPDATE "Image" i SET "runningClusters" = n.clusters
FROM (SELECT c."imageId", array_agg(DISTINCT p."clusterId" ORDER BY p."clusterId") AS clusters
      FROM "Container" c JOIN "Pod" p ON p.id = c."podId" AND p."deletedAt" IS NULL
      WHERE c."imageId" IS NOT NULL GROUP BY c."imageId") n
WHERE n."imageId" = i.id;
