-- A verdict Signet could not establish now (`error`) keeps the last definite one it replaced
-- (docs/decisions/0013-stale-verdicts.md); snapshots count stale containers apart.
ALTER TABLE "Verdict" ADD COLUMN "lastKnownValue" "VerdictValue";
UPDATE "Verdict" SET "lastKnownValue" = value WHERE value IN ('verified', 'failed', 'unsigned');

ALTER TABLE "CoverageSnapshot" ADD COLUMN "containersStale" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN "containersStaleVerified" INTEGER NOT NULL DEFAULT 0;
