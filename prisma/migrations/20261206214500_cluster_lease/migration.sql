-- CreateTable
CREATE TABLE "ClusterLease" (
    "cluster" TEXT NOT NULL,
    "holder" TEXT NOT NULL,
    "token" BIGINT NOT NULL,
    "acquiredAt" TIMESTAMPTZ(3) NOT NULL,
    "renewedAt" TIMESTAMPTZ(3) NOT NULL,
    "expiresAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "ClusterLease_pkey" PRIMARY KEY ("cluster")
);
