-- When the verdicts of an image's running containers were last evaluated — recomputed, or found to
-- rest on exactly the inputs of the stored ones. A rescan with nothing changed writes this one column
-- per image instead of every verdict row's evaluatedAt (ADR 0025); readers show the later of the two.
ALTER TABLE "Image" ADD COLUMN "evaluatedAt" TIMESTAMPTZ(3);
