-- AlterTable
ALTER TABLE "Pod" ADD COLUMN     "pullSecrets" TEXT[] DEFAULT ARRAY[]::TEXT[],
ADD COLUMN     "serviceAccount" TEXT;
