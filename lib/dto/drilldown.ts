import { z } from "zod";
import { BUCKETS } from "@/lib/coverage/compute";
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
 * The coverage buckets (lib/coverage/compute containerState) a container list is asked for: every
 * bucket of the overview's and the drill-down's counts ("stale,error" is the overview's Stale / unknown
 * tile, all six its running containers).
 */
export const listedBucket = z.enum(BUCKETS);
export type ListedBucket = z.infer<typeof listedBucket>;

/** A comma-separated list in a query parameter, each value once. */
const commaList = z
  .string()
  .max(100)
  .transform((s) => [...new Set(s.split(",").filter(Boolean))]);

/**
 * A verdict in a list by policy: a stored verdict's value, or `pending` — a running container the
 * policy applies to (its current scope) that has no verdict under it yet (saved since its last
 * evaluation): the namespace page counts it among the policy's containers, as not verified.
 */
export const policyListVerdict = z.enum([...verdictValue.options, "pending"]);
export type PolicyListVerdict = z.infer<typeof policyListVerdict>;
/** The containers a policy applies to in a namespace (the namespace page's "of M containers"): evaluated or awaiting a verdict. */
export const IN_SCOPE_VERDICTS = ["verified", "failed", "unsigned", "error", "pending"] as const satisfies readonly PolicyListVerdict[];
/** The namespace page's "not verified" under a policy: every container in scope but the verified. */
export const NOT_VERIFIED_IN_SCOPE = ["failed", "unsigned", "error", "pending"] as const satisfies readonly PolicyListVerdict[];

/**
 * The containers behind a count, in a cluster or namespace: by coverage bucket (`bucket`
 * comma-separated), or by their verdict under one policy (`policy` its id, `verdict` comma-separated;
 * default every verdict but unmatched: the containers the policy evaluated; `pending`: those awaiting
 * a verdict under it), or verified through one key or keyless authority (`signer` its ref on the Keys
 * page: "stored:<name>", "sha256:<hex>", "policy:<policy>/<authority>"; the containers its usage counts)
 * — one of the three.
 */
export const containerListQuery = z
  .object({
    cluster: z.string().max(253).optional(),
    namespace: z.string().max(253).optional(),
    bucket: commaList.pipe(z.array(listedBucket).min(1)).optional(),
    /** With `bucket=stale`: the stale containers of one stale group, by the reason the group names (the overview's stale card). */
    reason: z.string().min(1).max(8000).optional(),
    policy: z.string().uuid().optional(),
    verdict: commaList.pipe(z.array(policyListVerdict).min(1)).optional(),
    signer: z.string().min(1).max(600).optional(),
    page: z.coerce.number().int().min(1).max(100_000).default(1),
    pageSize: z.coerce.number().int().min(1).max(200).default(50),
  })
  .refine((q) => [q.bucket, q.policy, q.signer].filter((x) => x !== undefined).length === 1, { message: "a bucket, a policy or a signer, one of them" })
  .refine((q) => q.verdict === undefined || q.policy !== undefined, { message: "a verdict is one under a policy" })
  .refine((q) => q.reason === undefined || (q.bucket?.length === 1 && q.bucket[0] === "stale"), { message: "a reason is a stale group's: with bucket=stale only" });
export type ContainerListQuery = z.infer<typeof containerListQuery>;

/** The verdicts a policy's list shows by default: those of the containers it evaluated. */
export const EVALUATED_VERDICTS = verdictValue.options.filter((v) => v !== "unmatched");

export const containerListDto = z.object({
  /** Every container in the buckets at the latest snapshot (or with the policy's verdicts now): the count that links here. */
  total: z.number().int(),
  page: z.number().int(),
  pageSize: z.number().int(),
  /** The policy of a list by policy verdict (null: by bucket, or the policy is gone). */
  policy: z.object({ id: z.string(), name: z.string() }).nullable(),
  /**
   * The authority of a list by signer, by its one display name (null: another list, or no such
   * authority), with the images and namespaces of the containers listed (the Keys page's figures).
   */
  signer: z.object({ ref: z.string(), name: z.string(), images: z.number().int(), namespaces: z.number().int() }).nullable(),
  /**
   * A list by bucket: the time of the coverage snapshot whose buckets it lists (the counts' snapshot;
   * a container started since is in neither), null when none was taken. A list by policy verdict or by signer: null (read now).
   */
  asOf: z.string().nullable(),
  /** Each row's coverage bucket (null in a list by policy verdict: the row shows its verdicts per policy). */
  rows: z.array(
    containerRowDto.extend({
      cluster: z.string(),
      namespace: z.string(),
      workload: z.string(),
      bucket: listedBucket.nullable(),
      /** In a list by policy: the container has no verdict under the policy yet (`pending`). */
      pending: z.boolean(),
    }),
  ),
});
export type ContainerListDto = z.infer<typeof containerListDto>;

/** A scan item's status: waiting for its image check, checked, or the check failed (lib/scan/pipeline settleItems). */
export const scanItemStatus = z.enum(["pending", "done", "error"]);
export type ScanItemStatusDto = z.infer<typeof scanItemStatus>;
/** The items a scan's progress counts as done ("done / total images"): every settled one, checked or failed. */
export const SETTLED_ITEMS = ["done", "error"] as const satisfies readonly ScanItemStatusDto[];

/** A scan's items (its images), by status (comma-separated; default all): the list behind its progress. */
export const scanItemsQuery = z.object({
  status: commaList.pipe(z.array(scanItemStatus).min(1)).optional(),
  page: z.coerce.number().int().min(1).max(100_000).default(1),
  pageSize: z.coerce.number().int().min(1).max(200).default(50),
});
export type ScanItemsQuery = z.infer<typeof scanItemsQuery>;

export const scanItemListDto = z.object({
  /** The scan, read in the same snapshot as the items: its `done` is the settled items, `total` all of them (verify stage on). */
  scan: scanDto,
  /** The scan's items by status, all counted. */
  counts: z.object({ pending: z.number().int(), done: z.number().int(), error: z.number().int() }),
  /** The items of the statuses asked for: the rows of every page. */
  total: z.number().int(),
  page: z.number().int(),
  pageSize: z.number().int(),
  rows: z.array(
    z.object({
      imageId: z.string(),
      /** registry/repository (null: the image row is gone). */
      image: z.string().nullable(),
      digest: z.string().nullable(),
      status: scanItemStatus,
      outcome: z.string().nullable(),
      error: z.string().nullable(),
      /** fetched / revalidated / reused (null while pending and after a discovery error). */
      evidence: z.string().nullable(),
      reevaluated: z.boolean().nullable(),
      updatedAt: z.string(),
    }),
  ),
});
export type ScanItemListDto = z.infer<typeof scanItemListDto>;

export const workloadRowDto = z.object({
  /** "Kind/name"; bare pods are "Pod/<pod name>". */
  workload: z.string(),
  kind: z.string(),
  name: z.string(),
  worst: verdictValue,
  /** Its running containers, all counted; `containers` lists the first of them (worst first). */
  containersTotal: z.number().int(),
  containers: z.array(containerRowDto),
});
export type WorkloadRowDto = z.infer<typeof workloadRowDto>;

export const namespaceWorkloadsDto = z.object({
  cluster: z.string(),
  namespace: z.string(),
  /** One page of the namespace's workloads, worst first. */
  workloads: z.array(workloadRowDto),
  /** The namespace's running containers, all counted. */
  containers: z.number().int(),
  /** The namespace's workloads, all counted: the rows of every page. */
  workloadsTotal: z.number().int(),
  page: z.number().int(),
  pageSize: z.number().int(),
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
  /** Its running pods and their containers, all counted; `pods` is one page of them (by name). */
  podsTotal: z.number().int(),
  containersTotal: z.number().int(),
  page: z.number().int(),
  pageSize: z.number().int(),
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
