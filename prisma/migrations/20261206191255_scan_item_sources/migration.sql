-- AlterTable
ALTER TABLE "ScanItem" ADD COLUMN     "evidence" TEXT,
ADD COLUMN     "reevaluated" BOOLEAN;
