-- AlterTable
ALTER TABLE "Image" ADD COLUMN     "verificationHash" TEXT;
