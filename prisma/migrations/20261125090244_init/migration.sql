-- CreateEnum
CREATE TYPE "ClusterSource" AS ENUM ('kubeconfig', 'in_cluster');

-- CreateEnum
CREATE TYPE "WorkloadKind" AS ENUM ('Deployment', 'StatefulSet', 'DaemonSet', 'CronJob', 'Job', 'ReplicaSet', 'ReplicationController', 'Pod', 'Other');

-- CreateEnum
CREATE TYPE "ContainerKind" AS ENUM ('init', 'app', 'ephemeral');

-- CreateEnum
CREATE TYPE "DigestSource" AS ENUM ('observed', 'resolved', 'unknown');

-- CreateEnum
CREATE TYPE "DiscoveryOutcome" AS ENUM ('pending', 'found', 'none', 'error');

-- CreateEnum
CREATE TYPE "EvidenceKind" AS ENUM ('signature', 'attestation', 'sbom', 'bundle', 'other');

-- CreateEnum
CREATE TYPE "EvidenceStatus" AS ENUM ('unverified', 'valid', 'invalid', 'error');

-- CreateEnum
CREATE TYPE "PolicyMode" AS ENUM ('enforce', 'warn', 'audit');

-- CreateEnum
CREATE TYPE "PolicySource" AS ENUM ('signet', 'file', 'cluster_import');

-- CreateEnum
CREATE TYPE "AuthorityKind" AS ENUM ('key', 'keyless');

-- CreateEnum
CREATE TYPE "AuthorityStatus" AS ENUM ('active', 'retiring', 'revoked');

-- CreateEnum
CREATE TYPE "VerdictValue" AS ENUM ('verified', 'failed', 'unsigned', 'error', 'unmatched');

-- CreateEnum
CREATE TYPE "AdmissionController" AS ENUM ('policy_controller', 'kyverno', 'gatekeeper', 'other');

-- CreateEnum
CREATE TYPE "ScanStatus" AS ENUM ('queued', 'running', 'succeeded', 'partial', 'failed');

-- CreateEnum
CREATE TYPE "CoverageScope" AS ENUM ('fleet', 'cluster', 'namespace');

-- CreateEnum
CREATE TYPE "Role" AS ENUM ('viewer', 'auditor', 'admin');

-- CreateTable
CREATE TABLE "Cluster" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "source" "ClusterSource" NOT NULL DEFAULT 'kubeconfig',
    "context" TEXT,
    "server" TEXT,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "lastInventoryAt" TIMESTAMPTZ(3),
    "lastError" TEXT,
    "lastErrorAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Cluster_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Namespace" (
    "id" UUID NOT NULL,
    "clusterId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "labels" JSONB NOT NULL DEFAULT '{}',
    "firstSeen" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastSeen" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deletedAt" TIMESTAMPTZ(3),

    CONSTRAINT "Namespace_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Workload" (
    "id" UUID NOT NULL,
    "clusterId" UUID NOT NULL,
    "namespaceId" UUID NOT NULL,
    "kind" "WorkloadKind" NOT NULL,
    "name" TEXT NOT NULL,
    "firstSeen" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastSeen" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Workload_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Pod" (
    "id" UUID NOT NULL,
    "clusterId" UUID NOT NULL,
    "namespaceId" UUID NOT NULL,
    "workloadId" UUID,
    "uid" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "phase" TEXT,
    "nodeName" TEXT,
    "firstSeen" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastSeen" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deletedAt" TIMESTAMPTZ(3),

    CONSTRAINT "Pod_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Container" (
    "id" UUID NOT NULL,
    "podId" UUID NOT NULL,
    "imageId" UUID,
    "kind" "ContainerKind" NOT NULL,
    "name" TEXT NOT NULL,
    "imageRef" TEXT NOT NULL,
    "digest" TEXT,
    "digestSource" "DigestSource" NOT NULL DEFAULT 'unknown',
    "firstSeen" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastSeen" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Container_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Image" (
    "id" UUID NOT NULL,
    "registry" TEXT NOT NULL,
    "repository" TEXT NOT NULL,
    "digest" TEXT NOT NULL,
    "discovery" "DiscoveryOutcome" NOT NULL DEFAULT 'pending',
    "discoveryError" TEXT,
    "discoveredAt" TIMESTAMPTZ(3),
    "artifactDigests" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "verifiedAt" TIMESTAMPTZ(3),
    "firstSeen" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastSeen" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Image_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Evidence" (
    "id" UUID NOT NULL,
    "imageId" UUID NOT NULL,
    "kind" "EvidenceKind" NOT NULL,
    "artifactDigest" TEXT NOT NULL,
    "layerDigest" TEXT NOT NULL,
    "mediaType" TEXT NOT NULL,
    "status" "EvidenceStatus" NOT NULL DEFAULT 'unverified',
    "statusReason" TEXT,
    "signerKind" TEXT,
    "keyFingerprint" TEXT,
    "certIdentity" TEXT,
    "certIssuer" TEXT,
    "certExtensions" JSONB,
    "certNotBefore" TIMESTAMPTZ(3),
    "certNotAfter" TIMESTAMPTZ(3),
    "tlogLogIndex" BIGINT,
    "tlogIntegratedTime" TIMESTAMPTZ(3),
    "tlogLogId" TEXT,
    "predicateType" TEXT,
    "provenance" JSONB,
    "annotations" JSONB,
    "raw" JSONB,
    "fetchedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "verifiedAt" TIMESTAMPTZ(3),

    CONSTRAINT "Evidence_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Policy" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT,
    "mode" "PolicyMode" NOT NULL DEFAULT 'audit',
    "source" "PolicySource" NOT NULL DEFAULT 'signet',
    "readOnly" BOOLEAN NOT NULL DEFAULT false,
    "sourceCluster" TEXT,
    "currentVersion" INTEGER NOT NULL DEFAULT 1,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,
    "archivedAt" TIMESTAMPTZ(3),

    CONSTRAINT "Policy_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "PolicyVersion" (
    "id" UUID NOT NULL,
    "policyId" UUID NOT NULL,
    "version" INTEGER NOT NULL,
    "spec" JSONB NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "createdBy" TEXT,

    CONSTRAINT "PolicyVersion_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Authority" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "kind" "AuthorityKind" NOT NULL,
    "publicKeyPem" TEXT,
    "fingerprint" TEXT,
    "algorithm" TEXT,
    "issuer" TEXT,
    "issuerRegexp" TEXT,
    "subject" TEXT,
    "subjectRegexp" TEXT,
    "extensionConstraints" JSONB,
    "trustedRootId" UUID,
    "source" TEXT NOT NULL DEFAULT 'manual',
    "owner" TEXT,
    "status" "AuthorityStatus" NOT NULL DEFAULT 'active',
    "validFrom" TIMESTAMPTZ(3),
    "validUntil" TIMESTAMPTZ(3),
    "rotateBy" TIMESTAMPTZ(3),
    "revokedAt" TIMESTAMPTZ(3),
    "revokedReason" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Authority_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "PolicyAuthority" (
    "policyId" UUID NOT NULL,
    "authorityId" UUID NOT NULL,
    "alias" TEXT NOT NULL,

    CONSTRAINT "PolicyAuthority_pkey" PRIMARY KEY ("policyId","authorityId")
);

-- CreateTable
CREATE TABLE "TrustedRoot" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "document" JSONB NOT NULL,
    "source" TEXT NOT NULL DEFAULT 'file',
    "fetchedAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "TrustedRoot_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Verdict" (
    "id" UUID NOT NULL,
    "containerId" UUID NOT NULL,
    "policyId" UUID NOT NULL,
    "policyVersion" INTEGER NOT NULL,
    "value" "VerdictValue" NOT NULL,
    "reasons" JSONB NOT NULL DEFAULT '[]',
    "evidenceIds" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "evaluatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "changedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Verdict_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "VerificationEvent" (
    "seq" BIGSERIAL NOT NULL,
    "occurredAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "kind" TEXT NOT NULL,
    "actor" TEXT,
    "clusterName" TEXT,
    "namespace" TEXT,
    "workload" TEXT,
    "containerId" UUID,
    "imageDigest" TEXT,
    "policyName" TEXT,
    "policyVersion" INTEGER,
    "verdict" "VerdictValue",
    "previousVerdict" "VerdictValue",
    "reasons" JSONB NOT NULL DEFAULT '[]',
    "evidence" JSONB NOT NULL DEFAULT '[]',
    "details" JSONB NOT NULL DEFAULT '{}',
    "prevHash" TEXT NOT NULL,
    "hash" TEXT NOT NULL,

    CONSTRAINT "VerificationEvent_pkey" PRIMARY KEY ("seq")
);

-- CreateTable
CREATE TABLE "AdmissionRejection" (
    "id" UUID NOT NULL,
    "clusterId" UUID NOT NULL,
    "namespace" TEXT NOT NULL,
    "workloadKind" TEXT,
    "workloadName" TEXT,
    "image" TEXT,
    "controller" "AdmissionController" NOT NULL,
    "webhook" TEXT,
    "policyName" TEXT,
    "message" TEXT NOT NULL,
    "eventUid" TEXT NOT NULL,
    "firstSeen" TIMESTAMPTZ(3) NOT NULL,
    "lastSeen" TIMESTAMPTZ(3) NOT NULL,
    "count" INTEGER NOT NULL DEFAULT 1,

    CONSTRAINT "AdmissionRejection_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Scan" (
    "id" UUID NOT NULL,
    "kind" TEXT NOT NULL DEFAULT 'full',
    "trigger" TEXT NOT NULL DEFAULT 'schedule',
    "clusterId" UUID,
    "status" "ScanStatus" NOT NULL DEFAULT 'queued',
    "stage" TEXT NOT NULL DEFAULT 'queued',
    "done" INTEGER NOT NULL DEFAULT 0,
    "total" INTEGER NOT NULL DEFAULT 0,
    "counts" JSONB NOT NULL DEFAULT '{}',
    "errors" JSONB NOT NULL DEFAULT '[]',
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" TIMESTAMPTZ(3),
    "finishedAt" TIMESTAMPTZ(3),

    CONSTRAINT "Scan_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "CoverageSnapshot" (
    "id" UUID NOT NULL,
    "takenAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "scope" "CoverageScope" NOT NULL,
    "clusterId" UUID,
    "namespace" TEXT,
    "containersTotal" INTEGER NOT NULL,
    "containersVerified" INTEGER NOT NULL,
    "containersFailed" INTEGER NOT NULL,
    "containersUnsigned" INTEGER NOT NULL,
    "containersError" INTEGER NOT NULL,
    "containersUnmatched" INTEGER NOT NULL,
    "imagesTotal" INTEGER NOT NULL,
    "imagesVerified" INTEGER NOT NULL,

    CONSTRAINT "CoverageSnapshot_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "user" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "emailVerified" BOOLEAN NOT NULL DEFAULT false,
    "image" TEXT,
    "role" "Role" NOT NULL DEFAULT 'viewer',
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "user_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "session" (
    "id" TEXT NOT NULL,
    "expiresAt" TIMESTAMPTZ(3) NOT NULL,
    "token" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,
    "ipAddress" TEXT,
    "userAgent" TEXT,
    "userId" TEXT NOT NULL,

    CONSTRAINT "session_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "account" (
    "id" TEXT NOT NULL,
    "accountId" TEXT NOT NULL,
    "providerId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "accessToken" TEXT,
    "refreshToken" TEXT,
    "idToken" TEXT,
    "accessTokenExpiresAt" TIMESTAMPTZ(3),
    "refreshTokenExpiresAt" TIMESTAMPTZ(3),
    "scope" TEXT,
    "password" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "account_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "verification" (
    "id" TEXT NOT NULL,
    "identifier" TEXT NOT NULL,
    "value" TEXT NOT NULL,
    "expiresAt" TIMESTAMPTZ(3) NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "verification_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "RegistryCredential" (
    "id" UUID NOT NULL,
    "host" TEXT NOT NULL,
    "username" TEXT,
    "secretEnc" TEXT,
    "insecure" BOOLEAN NOT NULL DEFAULT false,
    "caPem" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "RegistryCredential_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "WorkerHeartbeat" (
    "id" TEXT NOT NULL,
    "hostname" TEXT NOT NULL,
    "pid" INTEGER NOT NULL,
    "startedAt" TIMESTAMPTZ(3) NOT NULL,
    "beatAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "WorkerHeartbeat_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Cluster_name_key" ON "Cluster"("name");

-- CreateIndex
CREATE UNIQUE INDEX "Namespace_clusterId_name_key" ON "Namespace"("clusterId", "name");

-- CreateIndex
CREATE UNIQUE INDEX "Workload_namespaceId_kind_name_key" ON "Workload"("namespaceId", "kind", "name");

-- CreateIndex
CREATE INDEX "Pod_namespaceId_idx" ON "Pod"("namespaceId");

-- CreateIndex
CREATE UNIQUE INDEX "Pod_clusterId_uid_key" ON "Pod"("clusterId", "uid");

-- CreateIndex
CREATE INDEX "Container_imageId_idx" ON "Container"("imageId");

-- CreateIndex
CREATE INDEX "Container_digest_idx" ON "Container"("digest");

-- CreateIndex
CREATE UNIQUE INDEX "Container_podId_kind_name_key" ON "Container"("podId", "kind", "name");

-- CreateIndex
CREATE INDEX "Image_digest_idx" ON "Image"("digest");

-- CreateIndex
CREATE UNIQUE INDEX "Image_registry_repository_digest_key" ON "Image"("registry", "repository", "digest");

-- CreateIndex
CREATE INDEX "Evidence_keyFingerprint_idx" ON "Evidence"("keyFingerprint");

-- CreateIndex
CREATE INDEX "Evidence_certIdentity_idx" ON "Evidence"("certIdentity");

-- CreateIndex
CREATE UNIQUE INDEX "Evidence_imageId_artifactDigest_layerDigest_key" ON "Evidence"("imageId", "artifactDigest", "layerDigest");

-- CreateIndex
CREATE UNIQUE INDEX "Policy_name_key" ON "Policy"("name");

-- CreateIndex
CREATE UNIQUE INDEX "PolicyVersion_policyId_version_key" ON "PolicyVersion"("policyId", "version");

-- CreateIndex
CREATE UNIQUE INDEX "Authority_name_key" ON "Authority"("name");

-- CreateIndex
CREATE UNIQUE INDEX "Authority_fingerprint_key" ON "Authority"("fingerprint");

-- CreateIndex
CREATE UNIQUE INDEX "TrustedRoot_name_key" ON "TrustedRoot"("name");

-- CreateIndex
CREATE INDEX "Verdict_policyId_value_idx" ON "Verdict"("policyId", "value");

-- CreateIndex
CREATE UNIQUE INDEX "Verdict_containerId_policyId_key" ON "Verdict"("containerId", "policyId");

-- CreateIndex
CREATE UNIQUE INDEX "VerificationEvent_hash_key" ON "VerificationEvent"("hash");

-- CreateIndex
CREATE INDEX "VerificationEvent_occurredAt_idx" ON "VerificationEvent"("occurredAt");

-- CreateIndex
CREATE INDEX "VerificationEvent_imageDigest_idx" ON "VerificationEvent"("imageDigest");

-- CreateIndex
CREATE INDEX "VerificationEvent_kind_occurredAt_idx" ON "VerificationEvent"("kind", "occurredAt");

-- CreateIndex
CREATE INDEX "AdmissionRejection_lastSeen_idx" ON "AdmissionRejection"("lastSeen");

-- CreateIndex
CREATE UNIQUE INDEX "AdmissionRejection_clusterId_eventUid_key" ON "AdmissionRejection"("clusterId", "eventUid");

-- CreateIndex
CREATE INDEX "Scan_createdAt_idx" ON "Scan"("createdAt");

-- CreateIndex
CREATE INDEX "CoverageSnapshot_scope_clusterId_namespace_takenAt_idx" ON "CoverageSnapshot"("scope", "clusterId", "namespace", "takenAt");

-- CreateIndex
CREATE UNIQUE INDEX "user_email_key" ON "user"("email");

-- CreateIndex
CREATE UNIQUE INDEX "session_token_key" ON "session"("token");

-- CreateIndex
CREATE INDEX "session_userId_idx" ON "session"("userId");

-- CreateIndex
CREATE INDEX "account_userId_idx" ON "account"("userId");

-- CreateIndex
CREATE INDEX "verification_identifier_idx" ON "verification"("identifier");

-- CreateIndex
CREATE UNIQUE INDEX "RegistryCredential_host_key" ON "RegistryCredential"("host");

-- AddForeignKey
ALTER TABLE "Namespace" ADD CONSTRAINT "Namespace_clusterId_fkey" FOREIGN KEY ("clusterId") REFERENCES "Cluster"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Workload" ADD CONSTRAINT "Workload_clusterId_fkey" FOREIGN KEY ("clusterId") REFERENCES "Cluster"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Workload" ADD CONSTRAINT "Workload_namespaceId_fkey" FOREIGN KEY ("namespaceId") REFERENCES "Namespace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Pod" ADD CONSTRAINT "Pod_clusterId_fkey" FOREIGN KEY ("clusterId") REFERENCES "Cluster"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Pod" ADD CONSTRAINT "Pod_namespaceId_fkey" FOREIGN KEY ("namespaceId") REFERENCES "Namespace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Pod" ADD CONSTRAINT "Pod_workloadId_fkey" FOREIGN KEY ("workloadId") REFERENCES "Workload"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Container" ADD CONSTRAINT "Container_podId_fkey" FOREIGN KEY ("podId") REFERENCES "Pod"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Container" ADD CONSTRAINT "Container_imageId_fkey" FOREIGN KEY ("imageId") REFERENCES "Image"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Evidence" ADD CONSTRAINT "Evidence_imageId_fkey" FOREIGN KEY ("imageId") REFERENCES "Image"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "PolicyVersion" ADD CONSTRAINT "PolicyVersion_policyId_fkey" FOREIGN KEY ("policyId") REFERENCES "Policy"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Authority" ADD CONSTRAINT "Authority_trustedRootId_fkey" FOREIGN KEY ("trustedRootId") REFERENCES "TrustedRoot"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "PolicyAuthority" ADD CONSTRAINT "PolicyAuthority_policyId_fkey" FOREIGN KEY ("policyId") REFERENCES "Policy"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "PolicyAuthority" ADD CONSTRAINT "PolicyAuthority_authorityId_fkey" FOREIGN KEY ("authorityId") REFERENCES "Authority"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Verdict" ADD CONSTRAINT "Verdict_containerId_fkey" FOREIGN KEY ("containerId") REFERENCES "Container"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Verdict" ADD CONSTRAINT "Verdict_policyId_fkey" FOREIGN KEY ("policyId") REFERENCES "Policy"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AdmissionRejection" ADD CONSTRAINT "AdmissionRejection_clusterId_fkey" FOREIGN KEY ("clusterId") REFERENCES "Cluster"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Scan" ADD CONSTRAINT "Scan_clusterId_fkey" FOREIGN KEY ("clusterId") REFERENCES "Cluster"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "CoverageSnapshot" ADD CONSTRAINT "CoverageSnapshot_clusterId_fkey" FOREIGN KEY ("clusterId") REFERENCES "Cluster"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "session" ADD CONSTRAINT "session_userId_fkey" FOREIGN KEY ("userId") REFERENCES "user"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "account" ADD CONSTRAINT "account_userId_fkey" FOREIGN KEY ("userId") REFERENCES "user"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- The audit log is append-only: refuse UPDATE and DELETE at the database, whatever the caller.
CREATE FUNCTION "signet_refuse_event_change"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'VerificationEvent is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER "VerificationEvent_append_only"
  BEFORE UPDATE OR DELETE ON "VerificationEvent"
  FOR EACH ROW EXECUTE FUNCTION "signet_refuse_event_change"();
CREATE TRIGGER "VerificationEvent_no_truncate"
  BEFORE TRUNCATE ON "VerificationEvent"
  FOR EACH STATEMENT EXECUTE FUNCTION "signet_refuse_event_change"();
