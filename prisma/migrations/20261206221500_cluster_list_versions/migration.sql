-- AlterTable
ALTER TABLE "Cluster" ADD COLUMN     "listVersions" JSONB;
