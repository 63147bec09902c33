-- The cluster object an imported policy comes from (drift view: its admission rejections beside Signet's verdicts).
ALTER TABLE "Policy" ADD COLUMN "sourceObject" TEXT;
