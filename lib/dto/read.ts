import { z } from "zod";

/**
 * DTOs of the read API (app/api/*) and of the pages: shared by server (validation before sending) and
 * client (types of TanStack Query hooks). Never whole database rows.
 */
export const verdictValue = z.enum(["verified", "failed", "unsigned", "error", "unmatched"]);
export type VerdictValueDto = z.infer<typeof verdictValue>;

export const coverageFigures = z.object({
  containersTotal: z.number().int(),
  containersVerified: z.number().int(),
  containersFailed: z.number().int(),
  containersUnsigned: z.number().int(),
  containersError: z.number().int(),
  containersUnmatched: z.number().int(),
  imagesTotal: z.number().int(),
  imagesVerified: z.number().int(),
});

export const coveragePoint = coverageFigures.extend({ takenAt: z.string() });

export const overviewDto = z.object({
  fleet: coveragePoint.nullable(),
  clusters: z.array(coverageFigures.extend({ cluster: z.string() })),
  worstNamespaces: z.array(coverageFigures.extend({ cluster: z.string(), namespace: z.string(), coveragePct: z.number() })),
  trend: z.array(coveragePoint),
  newestFailures: z.array(
    z.object({
      containerId: z.string(),
      cluster: z.string(),
      namespace: z.string(),
      workload: z.string(),
      imageId: z.string().nullable(),
      image: z.string(),
      policy: z.string(),
      mode: z.string(),
      verdict: verdictValue,
      reason: z.string().nullable(),
      changedAt: z.string(),
    }),
  ),
  lastScan: z.object({ id: z.string(), status: z.string(), createdAt: z.string(), finishedAt: z.string().nullable() }).nullable(),
});
export type OverviewDto = z.infer<typeof overviewDto>;

export const imageListQuery = z.object({
  cluster: z.string().max(253).optional(),
  namespace: z.string().max(253).optional(),
  verdict: verdictValue.optional(),
  registry: z.string().max(253).optional(),
  signer: z.string().max(500).optional(),
  q: z.string().max(200).optional(),
  sort: z.enum(["repository", "lastSeen", "containers", "verdict"]).default("repository"),
  order: z.enum(["asc", "desc"]).default("asc"),
  page: z.coerce.number().int().min(1).max(100_000).default(1),
  pageSize: z.coerce.number().int().min(1).max(200).default(50),
});
export type ImageListQuery = z.infer<typeof imageListQuery>;

export const imageRowDto = z.object({
  id: z.string(),
  registry: z.string(),
  repository: z.string(),
  digest: z.string(),
  verdict: verdictValue.nullable(),
  discovery: z.enum(["pending", "found", "none", "error"]),
  runningContainers: z.number().int(),
  signers: z.array(z.string()),
  /** Tags the running containers wrote for this digest. */
  tags: z.array(z.string()),
  lastSeen: z.string(),
});
export const imageListDto = z.object({
  total: z.number().int(),
  page: z.number().int(),
  pageSize: z.number().int(),
  rows: z.array(imageRowDto),
});
export type ImageListDto = z.infer<typeof imageListDto>;

/** A date from a request: any form Date parses, within what PostgreSQL stores (years 1..9999). */
export const dateInput = z.coerce.date().min(new Date("0001-01-01T00:00:00Z")).max(new Date("9999-12-31T23:59:59Z"));

export const auditQuery = z.object({
  /** Events with seq below this (newest first paging). */
  before: z.coerce.bigint().min(0n).max(9_223_372_036_854_775_807n).optional(),
  kind: z.enum(["verdict", "admin", "scan", "system", "admission"]).optional(),
  verdict: verdictValue.optional(),
  imageDigest: z.string().max(100).optional(),
  cluster: z.string().max(253).optional(),
  from: dateInput.optional(),
  to: dateInput.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
export type AuditQuery = z.infer<typeof auditQuery>;

export const auditEventDto = z.object({
  seq: z.string(),
  occurredAt: z.string(),
  kind: z.string(),
  actor: z.string().nullable(),
  clusterName: z.string().nullable(),
  namespace: z.string().nullable(),
  workload: z.string().nullable(),
  imageDigest: z.string().nullable(),
  policyName: z.string().nullable(),
  policyVersion: z.number().int().nullable(),
  verdict: verdictValue.nullable(),
  previousVerdict: verdictValue.nullable(),
  reasons: z.unknown(),
  evidence: z.unknown(),
  details: z.unknown(),
  hash: z.string(),
});
export const auditPageDto = z.object({ events: z.array(auditEventDto), nextBefore: z.string().nullable() });
export type AuditPageDto = z.infer<typeof auditPageDto>;

export const scanDto = z.object({
  id: z.string(),
  kind: z.string(),
  trigger: z.string(),
  cluster: z.string().nullable(),
  status: z.string(),
  stage: z.string(),
  done: z.number().int(),
  total: z.number().int(),
  counts: z.unknown(),
  errors: z.unknown(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
});
export type ScanDto = z.infer<typeof scanDto>;
