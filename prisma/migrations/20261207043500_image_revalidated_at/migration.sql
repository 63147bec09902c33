-- When an image's stored evidence was last confirmed current against its registry (a discovery, or a
-- tag listing showing the cosign tags it came from; the worker's revalidation cycle too): a scan
-- within SIGNET_REVALIDATE_SECONDS of it reuses the evidence without asking the registry (issue 18).
ALTER TABLE "Image" ADD COLUMN "revalidatedAt" TIMESTAMPTZ(3);
