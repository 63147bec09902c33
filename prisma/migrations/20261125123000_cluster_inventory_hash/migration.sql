-- AlterTable
ALTER TABLE "Cluster" ADD COLUMN     "inventoryHash" TEXT;
