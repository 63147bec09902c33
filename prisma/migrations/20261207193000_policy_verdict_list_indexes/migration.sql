-- The containers list by policy verdict (lib/data/drilldown listContainersInBuckets, ADR 0026) reads a
-- policy's verdicts of some values with their containers' ids: with the id in the index it reads them
-- index-only. It serves every use of the index it replaces (its prefix).
DROP INDEX "Verdict_policyId_value_idx";
CREATE INDEX "Verdict_policyId_value_containerId_idx" ON "Verdict"("policyId", "value", "containerId");

-- The same list leaves out the containers of the pods that are gone: those few pods by their deletedAt,
-- not every pod read.
CREATE INDEX "Pod_deletedAt_idx" ON "Pod"("deletedAt");
