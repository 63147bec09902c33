import { z } from "zod";
import { coverageFigures, scanDto, verdictValue } from "@/lib/dto/read";

/**
 * DTOs of the drill-down pages: fleet → cluster → namespace → workload → container → image. Shared
 * by the server (parse before rendering) and client code (types).
 */

/** The figures of a coverage snapshot: one shape everywhere (lib/dto/read.ts). */
export const coverageFiguresDto = coverageFigures;
export type CoverageFiguresDto = z.infer<typeof coverageFiguresDto>;
const coveragePointDto = coverageFiguresDto.extend({ takenAt: z.string() });

/** One policy's verdict on one container. */
export const containerVerdictDto = z.object({
  policyId: z.string(),
  policy: z.string(),
  mode: z.string(),
  policyVersion: z.number().int(),
  verdict: verdictValue,
  reasons: z.array(z.string()),
  evaluatedAt: z.string(),
  changedAt: z.string(),
});
export type ContainerVerdictDto = z.infer<typeof containerVerdictDto>;

/** A running container with its image and its verdict per policy. */
export const containerRowDto = z.object({
  id: z.string(),
  name: z.string(),
  kind: z.enum(["init", "app", "ephemeral"]),
  pod: z.string(),
  imageRef: z.string(),
  tag: z.string().nullable(),
  digest: z.string().nullable(),
  imageId: z.string().nullable(),
  image: z.string().nullable(),
  verdicts: z.array(containerVerdictDto),
  /** The container's overall verdict (lib/coverage overallVerdict): unmatched when no policy applies. */
  worst: verdictValue,
});
export type ContainerRowDto = z.infer<typeof containerRowDto>;

/**
 * The coverage buckets (lib/coverage/compute containerState) a container list is asked for: those whose
 * containers a narrow condition finds (lib/data/report mayBeInBuckets). "stale,error" is the overview's
 * Stale / unknown tile, "error" its unknown count.
 */
export const listedBucket = z.enum(["failed", "unsigned", "error", "stale"]);
export type ListedBucket = z.infer<typeof listedBucket>;

/** The containers behind a bucket count: `bucket` comma-separated, in a cluster or namespace. */
export const containerListQuery = z.object({
  cluster: z.string().max(253).optional(),
  namespace: z.string().max(253).optional(),
  bucket: z
    .string()
    .max(100)
    .transform((s) => [...new Set(s.split(",").filter(Boolean))])
    .pipe(z.array(listedBucket).min(1)),
  page: z.coerce.number().int().min(1).max(100_000).default(1),
  pageSize: z.coerce.number().int().min(1).max(200).default(50),
});
export type ContainerListQuery = z.infer<typeof containerListQuery>;

export const containerListDto = z.object({
  /** Every container in the buckets now: the count on the tile that links here, when nothing changed since its snapshot. */
  total: z.number().int(),
  page: z.number().int(),
  pageSize: z.number().int(),
  rows: z.array(containerRowDto.extend({ cluster: z.string(), namespace: z.string(), workload: z.string(), bucket: listedBucket })),
});
export type ContainerListDto = z.infer<typeof containerListDto>;

export const workloadRowDto = z.object({
  /** "Kind/name"; bare pods are "Pod/<pod name>". */
  workload: z.string(),
  kind: z.string(),
  name: z.string(),
  worst: verdictValue,
  containers: z.array(containerRowDto),
});
export type WorkloadRowDto = z.infer<typeof workloadRowDto>;

export const namespaceWorkloadsDto = z.object({
  cluster: z.string(),
  namespace: z.string(),
  workloads: z.array(workloadRowDto),
  /** Running containers counted; the list holds at most the first `limit`. */
  containers: z.number().int(),
  truncated: z.boolean(),
});
export type NamespaceWorkloadsDto = z.infer<typeof namespaceWorkloadsDto>;

export const clusterDetailDto = z.object({
  cluster: z.string(),
  server: z.string().nullable(),
  enabled: z.boolean(),
  lastInventoryAt: z.string().nullable(),
  lastError: z.string().nullable(),
  lastErrorAt: z.string().nullable(),
  latest: coveragePointDto.nullable(),
  trend: z.array(coveragePointDto),
  namespaces: z.array(coverageFiguresDto.extend({ namespace: z.string(), coveragePct: z.number().nullable() })),
  scans: z.array(scanDto.pick({ id: true, status: true, trigger: true, createdAt: true, finishedAt: true }).extend({ errors: z.array(z.string()) })),
  rejections: z.number().int(),
});
export type ClusterDetailDto = z.infer<typeof clusterDetailDto>;

export const workloadDetailDto = z.object({
  cluster: z.string(),
  namespace: z.string(),
  workload: z.string(),
  pods: z.array(z.object({ name: z.string(), phase: z.string().nullable(), node: z.string().nullable(), containers: z.array(containerRowDto) })),
  rejections: z.number().int(),
});
export type WorkloadDetailDto = z.infer<typeof workloadDetailDto>;

export const containerDetailDto = containerRowDto.extend({
  cluster: z.string(),
  namespace: z.string(),
  workload: z.string(),
  digestSource: z.string(),
  firstSeen: z.string(),
  lastSeen: z.string(),
  imageVerdict: verdictValue.nullable(),
  discovery: z.enum(["pending", "found", "none", "error"]),
  signers: z.array(z.string()),
});
export type ContainerDetailDto = z.infer<typeof containerDetailDto>;
