-- AlterTable
ALTER TABLE "TrustedRoot" ADD COLUMN     "createdBy" TEXT,
ADD COLUMN     "sha256" TEXT;

-- CreateTable
CREATE TABLE "TufRepository" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "mirrorUrl" TEXT NOT NULL,
    "metadata" JSONB NOT NULL,
    "rootVersion" INTEGER NOT NULL,
    "timestampVersion" INTEGER,
    "expiresAt" TIMESTAMPTZ(3),
    "lastAttemptAt" TIMESTAMPTZ(3),
    "lastSuccessAt" TIMESTAMPTZ(3),
    "lastError" TEXT,
    "createdBy" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "TufRepository_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "TufRepository_name_key" ON "TufRepository"("name");
