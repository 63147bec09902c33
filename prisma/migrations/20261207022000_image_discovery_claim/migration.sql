-- One discovery per image across concurrent checks (ADR 0012): a check that is about to ask the
-- registry about an image claims it for a short time; a second check finding a live claim waits for
-- the first one's stored evidence instead of fetching. An expired claim (a crashed holder) is taken over.
CREATE TABLE "ImageDiscoveryClaim" (
    "imageId" UUID NOT NULL,
    "token" UUID NOT NULL,
    "expiresAt" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "ImageDiscoveryClaim_pkey" PRIMARY KEY ("imageId")
);
ALTER TABLE "ImageDiscoveryClaim" ADD CONSTRAINT "ImageDiscoveryClaim_imageId_fkey" FOREIGN KEY ("imageId") REFERENCES "Image"("id") ON DELETE CASCADE ON UPDATE CASCADE;
