-- The image list's policy filter and its "stale / unknown" list (issue 15: the images failing policy X,
-- the images behind the overview's Stale / unknown tile) at 100,000 images: the verdicts of an image's
-- running containers, denormalized like "runningClusters" — "<policy id>" and "<policy id>:<value>" for each
-- policy that judged one of them, "<value>" for every value among them — kept by each evaluation
-- (lib/scan/evaluate-image.ts) and read through a GIN index. Joining Verdict, Container and Pod instead
-- took 0.3-1.5 s for a policy that applies everywhere.
ALTER TABLE "Image" ADD COLUMN     "policyVerdicts" TEXT[] DEFAULT ARRAY[]::TEXT[];

CREATE INDEX "Image_policyVerdicts_idx" ON "Image" USING GIN ("policyVerdicts");

-- what the stored verdicts of running containers say today (every evaluation keeps it)
UPDATE "Image" i SET "policyVerdicts" = n.entries
FROM (SELECT s."imageId", array_agg(DISTINCT s.entry ORDER BY s.entry) AS entries
      FROM (SELECT c."imageId", e.entry
            FROM "Verdict" v JOIN "Container" c ON c.id = v."containerId" JOIN "Pod" p ON p.id = c."podId" AND p."deletedAt" IS NULL
            CROSS JOIN LATERAL (VALUES (v."policyId"::text), (v."policyId"::text || ':' || v.value::text), (v.value::text)) e(entry)
            WHERE c."imageId" IS NOT NULL) s
      GROUP BY s."imageId") n
WHERE n."imageId" = i.id;

-- the planner's estimates for the new column (the list picks index order or a bitmap by them)
ANALYZE "Image";
