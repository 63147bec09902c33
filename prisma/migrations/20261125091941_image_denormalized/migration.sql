-- AlterTable
ALTER TABLE "Image" ADD COLUMN     "runningContainers" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "signers" TEXT[] DEFAULT ARRAY[]::TEXT[],
ADD COLUMN     "verdict" "VerdictValue";

-- CreateIndex
CREATE INDEX "Image_verdict_idx" ON "Image"("verdict");

-- CreateIndex
CREATE INDEX "Image_repository_idx" ON "Image"("repository");

-- CreateIndex
CREATE INDEX "Image_signers_idx" ON "Image" USING GIN ("signers");
