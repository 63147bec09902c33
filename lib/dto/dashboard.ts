import { z } from "zod";
import { coverageFigures, coveragePoint, verdictValue } from "@/lib/dto/read";

/**
 * DTOs of the dashboard pages beyond the read API of lib/dto/read.ts: image detail, namespaces,
 * policies, rejections, exports. Shared by the server (parse before sending) and the client (types).
 */

/** Values the image filters offer. */
export const imageFacetsDto = z.object({
  clusters: z.array(z.string()),
  namespaces: z.array(z.string()),
  registries: z.array(z.string()),
  signers: z.array(z.string()),
  /** Names of the policies in force (the image list's policy filter). */
  policies: z.array(z.string()),
});
export type ImageFacetsDto = z.infer<typeof imageFacetsDto>;

export const evidenceDto = z.object({
  id: z.string(),
  kind: z.string(),
  artifactDigest: z.string(),
  mediaType: z.string(),
  status: z.string(),
  statusReason: z.string().nullable(),
  signerKind: z.string().nullable(),
  keyFingerprint: z.string().nullable(),
  certIdentity: z.string().nullable(),
  certIssuer: z.string().nullable(),
  /** Fulcio extensions by name (sourceRepositoryURI, sourceRepositoryDigest, buildSignerURI, ...). */
  certExtensions: z.record(z.string(), z.unknown()).nullable(),
  tlogLogIndex: z.string().nullable(),
  tlogIntegratedTime: z.string().nullable(),
  predicateType: z.string().nullable(),
  provenance: z.unknown(),
  verifiedAt: z.string().nullable(),
  /** Valid and it satisfied an authority of an applicable policy; valid but not trusted: an untrusted co-signer. */
  trusted: z.boolean(),
});
export type EvidenceDto = z.infer<typeof evidenceDto>;

export const imageDetailDto = z.object({
  id: z.string(),
  registry: z.string(),
  repository: z.string(),
  digest: z.string(),
  verdict: verdictValue.nullable(),
  discovery: z.string(),
  discoveryError: z.string().nullable(),
  discoveredAt: z.string().nullable(),
  verifiedAt: z.string().nullable(),
  signers: z.array(z.string()),
  /** Source of the build as ONE trusted signature's certificate or provenance states it (lib/data/images.ts). */
  source: z.object({
    repository: z.string().nullable(),
    commit: z.string().nullable(),
    builder: z.string().nullable(),
    workflow: z.string().nullable(),
    /** The one trusted evidence these fields come from (null: no trusted evidence states a source). */
    evidenceId: z.string().nullable(),
  }),
  evidence: z.array(evidenceDto),
  containers: z.array(
    z.object({
      id: z.string(),
      cluster: z.string(),
      namespace: z.string(),
      workload: z.string(),
      pod: z.string(),
      name: z.string(),
      imageRef: z.string(),
      verdicts: z.array(
        z.object({
          policy: z.string(),
          policyId: z.string(),
          mode: z.string(),
          policyVersion: z.number().int(),
          verdict: verdictValue,
          reasons: z.array(z.string()),
          evaluatedAt: z.string(),
        }),
      ),
    }),
  ),
  history: z.array(
    z.object({
      seq: z.string(),
      occurredAt: z.string(),
      clusterName: z.string().nullable(),
      namespace: z.string().nullable(),
      workload: z.string().nullable(),
      policyName: z.string().nullable(),
      policyVersion: z.number().int().nullable(),
      verdict: verdictValue.nullable(),
      previousVerdict: verdictValue.nullable(),
    }),
  ),
});
export type ImageDetailDto = z.infer<typeof imageDetailDto>;

export const namespaceRowDto = coverageFigures.extend({ cluster: z.string(), namespace: z.string(), coveragePct: z.number().nullable() });
export const namespaceListDto = z.object({ takenAt: z.string().nullable(), namespaces: z.array(namespaceRowDto) });
export type NamespaceListDto = z.infer<typeof namespaceListDto>;

export const namespaceDetailDto = z.object({
  cluster: z.string(),
  namespace: z.string(),
  labels: z.record(z.string(), z.string()),
  trend: z.array(coveragePoint),
  policies: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      mode: z.string(),
      version: z.number().int(),
      /** Running containers of the namespace this policy applies to. */
      containers: z.number().int(),
      verified: z.number().int(),
      /** For warn / audit policies: how many containers enforcement would reject … */
      wouldBreakTotal: z.number().int(),
      /** … and the first of them (lib/data/namespaces WOULD_BREAK_SHOWN). */
      wouldBreak: z.array(z.object({ workload: z.string(), pod: z.string(), container: z.string(), containerId: z.string(), image: z.string(), imageId: z.string().nullable(), verdict: verdictValue })),
    }),
  ),
});
export type NamespaceDetailDto = z.infer<typeof namespaceDetailDto>;

const verdictCounts = z.partialRecord(verdictValue, z.number().int());

export const policyRowDto = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  mode: z.string(),
  source: z.string(),
  readOnly: z.boolean(),
  sourceCluster: z.string().nullable(),
  enabled: z.boolean(),
  version: z.number().int(),
  updatedAt: z.string(),
  verdicts: verdictCounts,
});
export type PolicyRowDto = z.infer<typeof policyRowDto>;

export const authorityRowDto = z.object({
  id: z.string(),
  name: z.string(),
  kind: z.string(),
  status: z.string(),
  fingerprint: z.string().nullable(),
  issuer: z.string().nullable(),
  subject: z.string().nullable(),
  rotateBy: z.string().nullable(),
  policies: z.array(z.string()),
});
export const policiesPageDto = z.object({ policies: z.array(policyRowDto), authorities: z.array(authorityRowDto) });
export type PoliciesPageDto = z.infer<typeof policiesPageDto>;

export const policyDetailDto = policyRowDto.extend({
  /** The current version's document as YAML, for the editor. */
  yaml: z.string(),
  versions: z.array(
    z.object({
      version: z.number().int(),
      createdAt: z.string(),
      createdBy: z.string().nullable(),
      /** Verdict events recorded under this version, by verdict (its effect on coverage). */
      events: verdictCounts,
    }),
  ),
  /** Running containers the policy does not verify, newest change first (at most 200); for a warn / audit policy, what enforcing it would reject. */
  wouldBreak: z.array(
    z.object({ cluster: z.string(), namespace: z.string(), workload: z.string(), containerId: z.string(), image: z.string(), imageId: z.string().nullable(), verdict: verdictValue, reason: z.string().nullable() }),
  ),
});
export type PolicyDetailDto = z.infer<typeof policyDetailDto>;

export const POLICY_MAX_CHARACTERS = 256 * 1024;
export const policySaveBody = z.object({
  yaml: z
    .string()
    .min(1, "The policy is empty: write a policy document or upload a file.")
    .max(POLICY_MAX_CHARACTERS, `The policy is longer than ${POLICY_MAX_CHARACTERS / 1024} Ki characters: split it into several files.`),
});
export const policySaveResultDto = z.object({
  saved: z.array(z.object({ name: z.string(), policyId: z.string(), version: z.number().int(), changed: z.boolean() })),
  reevaluationQueued: z.boolean(),
});
export type PolicySaveResultDto = z.infer<typeof policySaveResultDto>;

export const clusterImportResultDto = z.object({
  clusters: z.array(z.object({ cluster: z.string(), error: z.string().nullable(), found: z.number().int() })),
  saved: z.array(z.object({ name: z.string(), version: z.number().int(), changed: z.boolean() })),
  /** Imported policies archived because their source was deleted from the cluster. */
  archived: z.array(z.string()).default([]),
  problems: z.array(z.string()),
  reevaluationQueued: z.boolean(),
});
export type ClusterImportResultDto = z.infer<typeof clusterImportResultDto>;

export const rejectionQuery = z.object({
  cluster: z.string().max(253).optional(),
  namespace: z.string().max(253).optional(),
  controller: z.enum(["policy_controller", "kyverno", "gatekeeper", "signet", "other"]).optional(),
  /** A policy's name: the rejections under it (Signet's webhook under the policy; the cluster's controller under the object it was imported from). */
  policy: z.string().max(253).optional(),
  /** A key's name (as the Keys page names it): the rejections under the policies that trust it. */
  key: z.string().max(253).optional(),
  /** A workload's name: the rejections of objects named after it (its ReplicaSets' and pods' names start with it; the workload page's count). */
  workload: z.string().min(1).max(253).optional(),
  q: z.string().max(200).optional(),
  days: z.coerce.number().int().min(1).max(365).default(30),
  /** One UTC day (a bar of the per-day chart): the rejections last seen that day, whatever `days` says. */
  day: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, "A day is YYYY-MM-DD.")
    .refine((d) => !Number.isNaN(Date.parse(`${d}T00:00:00Z`)) && new Date(`${d}T00:00:00Z`).toISOString().startsWith(d), "Not a calendar day.")
    .optional(),
  page: z.coerce.number().int().min(1).max(100_000).default(1),
  pageSize: z.coerce.number().int().min(1).max(200).default(50),
});
export type RejectionQuery = z.infer<typeof rejectionQuery>;

export const rejectionsDto = z.object({
  total: z.number().int(),
  /** Sum of Kubernetes event counts (a rejection repeated by a controller counts each time). */
  attempts: z.number().int(),
  page: z.number().int(),
  pageSize: z.number().int(),
  perDay: z.array(z.object({ day: z.string(), count: z.number().int() })),
  rows: z.array(
    z.object({
      id: z.string(),
      cluster: z.string(),
      namespace: z.string(),
      workload: z.string().nullable(),
      /** Whether the workload runs now in that namespace (its page exists: the row links to it). */
      workloadRunning: z.boolean(),
      image: z.string().nullable(),
      controller: z.string(),
      /** Signet's own webhook: denied / warned / timed-out (null for other controllers' rejections, all denials). */
      decision: z.string().nullable(),
      /** Signet's own webhook: whether the caller authenticated (false: the review may have been forged); null for other controllers. */
      callerAuthenticated: z.boolean().nullable(),
      policyName: z.string().nullable(),
      /** The policy it was recorded under, as Signet stores it (its page); null when none matches. */
      policyId: z.string().nullable(),
      message: z.string(),
      count: z.number().int(),
      firstSeen: z.string(),
      lastSeen: z.string(),
    }),
  ),
});
export type RejectionsDto = z.infer<typeof rejectionsDto>;

export const chainStatusDto = z.object({
  ok: z.boolean(),
  /** Events whose links and hashes verified (before the problem, if any). */
  checked: z.number().int(),
  head: z.object({ seq: z.string(), hash: z.string() }).nullable(),
  /** The newest event a signed checkpoint vouches for. */
  anchoredThrough: z.object({ seq: z.string(), at: z.string(), keyId: z.string() }).nullable(),
  checkpoints: z.object({ valid: z.number().int(), unknownKey: z.number().int() }),
  /** This machine's witness file (lib/audit/witness). */
  witness: z.enum(["absent", "matched", "unknown-key", "failed"]),
  problem: z
    .object({
      kind: z.string(),
      afterSeq: z.string().nullable(),
      throughSeq: z.string().nullable(),
      checkpoint: z.object({ id: z.string().nullable(), seq: z.string(), at: z.string() }).nullable(),
      message: z.string(),
    })
    .nullable(),
  /** Fingerprint of the public key checkpoints are signed with now (`signet audit public-key`). */
  keyFingerprint: z.string(),
  /** When this walk started: the status is computed for every request, never cached. */
  checkedAt: z.string(),
});
export type ChainStatusDto = z.infer<typeof chainStatusDto>;

export const complianceQuery = z.object({
  from: z.coerce.date().optional(),
  to: z.coerce.date().optional(),
  cluster: z.string().max(253).optional(),
  namespace: z.string().max(253).optional(),
  format: z.enum(["csv", "json"]).default("json"),
  /** Only the first `limit` rows (a preview); the summary still counts every row. */
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});
export type ComplianceQuery = z.infer<typeof complianceQuery>;

export const complianceRowDto = z.object({
  cluster: z.string(),
  namespace: z.string(),
  workload: z.string(),
  container: z.string(),
  image: z.string(),
  digest: z.string(),
  policy: z.string(),
  policyVersion: z.number().int(),
  mode: z.string(),
  verdict: verdictValue,
  evaluatedAt: z.string(),
  signers: z.array(z.string()),
  rekorLogIndexes: z.array(z.string()),
  reasons: z.array(z.string()),
  /** Verdict changes recorded for this digest and policy within the report's time range. */
  eventsInRange: z.number().int(),
});
export const complianceReportDto = z.object({
  generatedAt: z.string(),
  from: z.string(),
  to: z.string(),
  scope: z.object({ cluster: z.string().nullable(), namespace: z.string().nullable() }),
  summary: z.object({ rows: z.number().int(), digests: z.number().int(), verified: z.number().int() }),
  rows: z.array(complianceRowDto),
});
export type ComplianceReportDto = z.infer<typeof complianceReportDto>;

/** Drift of one imported policy: the cluster's admission decisions beside Signet's verdicts. */
export const policyDriftDto = z.object({
  /** False for policies not imported from a cluster (nothing to compare with). */
  imported: z.boolean(),
  cluster: z.string().nullable(),
  sourceObject: z.string().nullable(),
  mode: z.string(),
  summary: z.object({
    /** Rejections under the policy's source object in the last DRIFT_DAYS (lib/data/drift), all counted; `rejections` holds the latest of them. */
    rejections: z.number().int(),
    /** Of the rows in `rejections`: where Signet's verdict for the image also predicts a denial. */
    agree: z.number().int(),
    /** Rejections of an image Signet verifies (or a policy mode that admits it). */
    disagree: z.number().int(),
    /** Rejections of an image Signet has no verdict for (it never ran). */
    unknown: z.number().int(),
    /** Running containers Signet predicts the cluster would deny now, all counted; `runningDenied` holds the latest changed of them. */
    runningDenied: z.number().int(),
  }),
  rejections: z.array(
    z.object({
      namespace: z.string(),
      workload: z.string().nullable(),
      image: z.string().nullable(),
      message: z.string(),
      count: z.number().int(),
      lastSeen: z.string(),
      signetVerdict: verdictValue.nullable(),
      agreement: z.enum(["agree", "disagree", "unknown"]),
    }),
  ),
  runningDenied: z.array(z.object({ namespace: z.string(), workload: z.string(), containerId: z.string(), image: z.string(), imageId: z.string().nullable(), verdict: verdictValue, reason: z.string().nullable() })),
});
export type PolicyDriftDto = z.infer<typeof policyDriftDto>;
