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
  /** Last known only (ADR 0013): not in verified / failed / unsigned / error. */
  containersStale: z.number().int(),
  containersStaleVerified: z.number().int(),
  imagesTotal: z.number().int(),
  imagesVerified: z.number().int(),
});

export const coveragePoint = coverageFigures.extend({ takenAt: z.string() });

/** The trend charts' time ranges (in the URL as `range`). */
export const trendRange = z.enum(["24h", "7d", "30d", "90d"]);
export type TrendRange = z.infer<typeof trendRange>;

/** One point of a coverage trend: coverage (null when no policy applied to anything) and the stale share. */
export const trendPoint = z.object({
  takenAt: z.string(),
  containersTotal: z.number().int(),
  /** Coverage of the containers a policy applies to, stale ones by their last known verdict (ADR 0013), percent; null: none. */
  containersPct: z.number().nullable(),
  imagesPct: z.number().nullable(),
  /** Stale or unknown containers, percent of all running ones. */
  stalePct: z.number(),
});
export type TrendPointDto = z.infer<typeof trendPoint>;

export const coverageTrendDto = z.object({
  scope: z.enum(["fleet", "cluster", "namespace"]),
  cluster: z.string().nullable(),
  namespace: z.string().nullable(),
  range: trendRange,
  target: z.number(),
  points: z.array(trendPoint),
});
export type CoverageTrendDto = z.infer<typeof coverageTrendDto>;

export const overviewDto = z.object({
  fleet: coveragePoint.nullable(),
  /** Inventory counts of the same snapshot as `fleet` (policies: now). */
  counts: z.object({ clusters: z.number().int(), namespaces: z.number().int(), runningContainers: z.number().int(), distinctImages: z.number().int(), policies: z.number().int() }),
  clusters: z.array(
    coverageFigures.extend({
      cluster: z.string(),
      target: z.number(),
      /** Why the last scan could not list it (its containers are stale since lastErrorAt). */
      lastError: z.string().nullable(),
      lastErrorAt: z.string().nullable(),
      lastInventoryAt: z.string().nullable(),
    }),
  ),
  worstNamespaces: z.array(coverageFigures.extend({ cluster: z.string(), namespace: z.string(), coveragePct: z.number() })),
  trend: z.array(coveragePoint),
  /** Verdicts Signet could not establish now but knew before, grouped by reason (ADR 0013). */
  stale: z.array(z.object({ reason: z.string(), since: z.string(), containers: z.number().int(), lastKnown: z.record(z.string(), z.number().int()) })),
  /** A policy or key change being applied from stored evidence; the figures above are from before it. */
  reevaluation: z.object({ id: z.string(), trigger: z.string(), status: z.string(), done: z.number().int(), total: z.number().int(), createdAt: z.string() }).nullable(),
  /** Until the first successful scan: the first-run checklist's steps. */
  firstRun: z
    .object({ cluster: z.boolean(), clusterDetail: z.string(), key: z.boolean(), policy: z.boolean(), scan: z.boolean() })
    .nullable(),
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
  lastScan: z
    .object({
      id: z.string(),
      status: z.string(),
      createdAt: z.string(),
      finishedAt: z.string().nullable(),
      /** Why it failed or was partial (cluster and configuration errors first). */
      errors: z.array(z.object({ cluster: z.string().optional(), stage: z.string(), message: z.string() })),
    })
    .nullable(),
});
export type OverviewDto = z.infer<typeof overviewDto>;

/**
 * The image list's verdict filter: one verdict, `failing` (failed, unsigned or error: the overview's
 * "Failed · unsigned · error" tile), or `stale` (a running container Signet cannot verify now: an `error`
 * verdict, stale or unknown, or its cluster's last inventory failed — the overview's "Stale / unknown"
 * tile, ADR 0013). With `policy`, the verdict is the one under that policy.
 */
export const imageVerdictFilter = z.enum([...verdictValue.options, "failing", "stale"]);
export type ImageVerdictFilterDto = z.infer<typeof imageVerdictFilter>;
/** The verdicts `failing` stands for. */
export const FAILING_VERDICTS = ["failed", "unsigned", "error"] as const satisfies readonly VerdictValueDto[];

export const imageListQuery = z.object({
  cluster: z.string().max(253).optional(),
  namespace: z.string().max(253).optional(),
  verdict: imageVerdictFilter.optional(),
  registry: z.string().max(253).optional(),
  signer: z.string().max(500).optional(),
  /** A policy's name: images with a running container this policy evaluated (with `verdict`, that verdict under it). */
  policy: z.string().max(253).optional(),
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
  /** Who acted: a user's email, "sso", "auth", "system" ... (exact). */
  actor: z.string().trim().min(1).max(254).optional(),
  /** Text anywhere in an administrative, scan or system event (actor, policy, details ...), case-insensitive; 3 characters or more (trigram index). Verdict events are found by their filters. */
  q: z.string().trim().min(3, "Search for 3 characters or more.").max(100).optional(),
  /** A key's name, as the Keys page names it: the administrative events that name the key (added, changed, rotated, revoked) and the changes of the policies trusting it. */
  key: z.string().trim().min(1).max(253).optional(),
  /** A policy's name: the events recorded under it (a verdict under it, a change of it). */
  policy: z.string().trim().min(1).max(253).optional(),
  /** With `policy`: the events recorded under this version of it (the policy page's counts per version). */
  policyVersion: z.coerce.number().int().min(1).max(2_147_483_647).optional(),
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
  /** The policy of that name now (its page), null when none has it. */
  policyId: z.string().nullable(),
  policyVersion: z.number().int().nullable(),
  verdict: verdictValue.nullable(),
  previousVerdict: verdictValue.nullable(),
  reasons: z.unknown(),
  evidence: z.unknown(),
  details: z.unknown(),
  /** What the event changed, in words (lib/audit/describe.ts). */
  summary: z.string(),
  /** The keys and keyless authorities, by their one name (lib/trust/inventory authorityNames), that signed the evidence a verdict event rests on. */
  signerKeys: z.array(z.string()),
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
  /** When its items were removed (SIGNET_SCAN_ITEMS_KEEP_DAYS after it finished): its figures stay, no list is behind them. */
  itemsRemovedAt: z.string().nullable(),
});
export type ScanDto = z.infer<typeof scanDto>;
