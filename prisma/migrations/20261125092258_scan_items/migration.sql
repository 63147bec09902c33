-- CreateEnum
CREATE TYPE "ScanItemStatus" AS ENUM ('pending', 'done', 'error');

-- CreateTable
CREATE TABLE "ScanItem" (
    "scanId" UUID NOT NULL,
    "imageId" UUID NOT NULL,
    "status" "ScanItemStatus" NOT NULL DEFAULT 'pending',
    "outcome" TEXT,
    "error" TEXT,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ScanItem_pkey" PRIMARY KEY ("scanId","imageId")
);

-- CreateIndex
CREATE INDEX "ScanItem_scanId_status_idx" ON "ScanItem"("scanId", "status");

-- CreateIndex
CREATE INDEX "Scan_status_idx" ON "Scan"("status");

-- AddForeignKey
ALTER TABLE "ScanItem" ADD CONSTRAINT "ScanItem_scanId_fkey" FOREIGN KEY ("scanId") REFERENCES "Scan"("id") ON DELETE CASCADE ON UPDATE CASCADE;
