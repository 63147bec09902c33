-- AlterTable
ALTER TABLE "Image" ADD COLUMN     "evaluationHash" TEXT;
