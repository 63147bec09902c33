-- The overview at 100,000 images (issue 15): the latest fleet snapshot and every cluster's or
-- namespace's row of it were found by walking the (scope, clusterId, namespace, takenAt) index once
-- per namespace; the newest failures sorted every failing verdict. Index-led now.
CREATE INDEX "CoverageSnapshot_scope_takenAt_idx" ON "CoverageSnapshot"("scope", "takenAt");
CREATE INDEX "Verdict_value_changedAt_idx" ON "Verdict"("value", "changedAt");
-- The overview's stale groups come from the snapshot its figures come from (one evaluation state), not
-- from an aggregate over every stale verdict at each page load.
ALTER TABLE "CoverageSnapshot" ADD COLUMN "staleGroups" JSONB NOT NULL DEFAULT '[]';
