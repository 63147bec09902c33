import "server-only";
import type { Db } from "@/lib/db/client";
import { cursorPages, withSnapshot } from "@/lib/db/cursor";
import type { Tx } from "@/lib/db/transaction";
import { Prisma } from "@/lib/generated/prisma/client";
import { complianceReportDto, complianceRowDto, type ComplianceQuery, type ComplianceReportDto } from "@/lib/dto/dashboard";
import { VERDICT_EVALUATED_AT_SQL } from "@/lib/data/drilldown";

type ComplianceRow = ComplianceReportDto["rows"][number];
type Scope = Pick<ComplianceQuery, "cluster" | "namespace">;

/** Rows read per round trip of the compliance export (and per evidence / event lookup). */
export const COMPLIANCE_PAGE_SIZE = 1000;

const signerOf = (e: { keyFingerprint: string | null; certIssuer: string | null; certIdentity: string | null }): string | null =>
  e.keyFingerprint ? `key:${e.keyFingerprint.startsWith("sha256:") ? "" : "sha256:"}${e.keyFingerprint}` : e.certIdentity ? `keyless:${e.certIssuer ?? "?"}|${e.certIdentity}` : null;

/** The period of a compliance report: `to` (default now) and `from` (default 30 days before it). */
export function compliancePeriod(q: Pick<ComplianceQuery, "from" | "to">, now = new Date()): { from: Date; to: Date } {
  const to = q.to ?? now;
  return { from: q.from ?? new Date(to.getTime() - 30 * 86_400_000), to };
}

/** Every verdict under a policy (not `unmatched`) of a running container in scope. */
function scopeSql(q: Scope): Prisma.Sql {
  return Prisma.sql`
    FROM "Verdict" v
    JOIN "Container" c ON c."id" = v."containerId"
    JOIN "Pod" p ON p."id" = c."podId"
    JOIN "Cluster" cl ON cl."id" = p."clusterId"
    JOIN "Namespace" ns ON ns."id" = p."namespaceId"
    LEFT JOIN "Workload" w ON w."id" = p."workloadId"
    LEFT JOIN "Image" i ON i."id" = c."imageId"
    JOIN "Policy" po ON po."id" = v."policyId"
    WHERE v."value" <> 'unmatched' AND p."deletedAt" IS NULL
      ${q.cluster ? Prisma.sql`AND cl."name" = ${q.cluster}` : Prisma.empty}
      ${q.namespace ? Prisma.sql`AND ns."name" = ${q.namespace}` : Prisma.empty}`;
}

/** Counts of the whole report, from the same snapshot as its rows. */
export async function complianceSummary(tx: Tx, q: Scope): Promise<ComplianceReportDto["summary"]> {
  const [s] = await tx.$queryRaw<{ rows: bigint; digests: bigint; verified: bigint }[]>`
    SELECT count(*) AS rows,
           count(DISTINCT COALESCE(c."digest", i."digest", '')) AS digests,
           count(*) FILTER (WHERE v."value" = 'verified') AS verified
    ${scopeSql(q)}`;
  return { rows: Number(s?.rows ?? 0), digests: Number(s?.digests ?? 0), verified: Number(s?.verified ?? 0) };
}

const WORKLOAD = Prisma.sql`(CASE WHEN w."id" IS NULL THEN 'Pod/' || p."name" ELSE w."kind" || '/' || w."name" END)`;

interface VerdictRow {
  cluster: string;
  namespace: string;
  workload: string;
  container: string;
  image: string;
  digest: string;
  imageId: string | null;
  policy: string;
  policyVersion: number;
  mode: string;
  verdict: string;
  evaluatedAt: Date;
  evidenceIds: string[];
  reasons: unknown;
}

/**
 * The compliance report's rows: for every running container in scope and every policy that applies to
 * it, the current verdict with the policy version it was computed under, the evidence it rests on
 * (signer, Rekor log index) and how many verdict changes were recorded for that digest and policy in
 * the period; ordered by cluster, namespace, workload, container, policy. Read through a cursor in
 * pages of `pageSize` (run it in `withSnapshot`): one page and its lookups in memory at a time.
 */
export async function* iterateComplianceRows(
  tx: Tx,
  q: Scope & { limit?: number },
  period: { from: Date; to: Date },
  pageSize = COMPLIANCE_PAGE_SIZE,
): AsyncGenerator<ComplianceRow> {
  const query = Prisma.sql`
    SELECT cl."name" AS cluster, ns."name" AS namespace,
           ${WORKLOAD} AS workload,
           c."name" AS container, c."imageRef" AS image, COALESCE(c."digest", i."digest", '') AS digest, c."imageId"::text AS "imageId",
           po."name" AS policy, v."policyVersion" AS "policyVersion", po."mode"::text AS mode, v."value"::text AS verdict,
           ${VERDICT_EVALUATED_AT_SQL} AS "evaluatedAt", v."evidenceIds" AS "evidenceIds", v."reasons" AS reasons
    ${scopeSql(q)}
    ORDER BY cl."name" COLLATE "C", ns."name" COLLATE "C", ${WORKLOAD} COLLATE "C", c."name" COLLATE "C", po."name" COLLATE "C", v."id"
    ${q.limit ? Prisma.sql`LIMIT ${q.limit}` : Prisma.empty}`;
  // a verdict names its evidence as "<artifact manifest digest>#<layer index>" (lib/sigstore/evidence.ts):
  // the stored Evidence row is found by image and artifact digest
  const artifactOf = (id: string) => id.split("#")[0]!;
  for await (const page of cursorPages<VerdictRow>(tx, query, pageSize)) {
    const imageIds = [...new Set(page.map((v) => v.imageId).filter((id): id is string => !!id))];
    const artifacts = [...new Set(page.flatMap((v) => v.evidenceIds.map(artifactOf)))];
    const evidenceRows = artifacts.length
      ? await tx.evidence.findMany({
          where: { imageId: { in: imageIds }, artifactDigest: { in: artifacts }, status: "valid" },
          select: { imageId: true, artifactDigest: true, keyFingerprint: true, certIssuer: true, certIdentity: true, tlogLogIndex: true },
        })
      : [];
    const evidence = new Map<string, (typeof evidenceRows)[number][]>();
    for (const e of evidenceRows) {
      const k = `${e.imageId}|${e.artifactDigest}`;
      evidence.set(k, [...(evidence.get(k) ?? []), e]);
    }
    const digests = [...new Set(page.map((v) => v.digest).filter(Boolean))];
    const events = digests.length
      ? await tx.verificationEvent.groupBy({
          by: ["imageDigest", "policyName"],
          where: { kind: "verdict", imageDigest: { in: digests }, occurredAt: { gte: period.from, lte: period.to } },
          _count: { _all: true },
        })
      : [];
    const eventCount = new Map(events.map((e) => [`${e.imageDigest}|${e.policyName}`, e._count._all]));
    for (const v of page) {
      const used = v.evidenceIds.flatMap((id) => evidence.get(`${v.imageId}|${artifactOf(id)}`) ?? []);
      yield complianceRowDto.parse({
        cluster: v.cluster,
        namespace: v.namespace,
        workload: v.workload,
        container: v.container,
        image: v.image,
        digest: v.digest,
        policy: v.policy,
        policyVersion: v.policyVersion,
        mode: v.mode,
        verdict: v.verdict,
        evaluatedAt: v.evaluatedAt.toISOString(),
        signers: [...new Set(used.map(signerOf).filter((s): s is string => !!s))],
        rekorLogIndexes: [...new Set(used.map((e) => e.tlogLogIndex?.toString()).filter((s): s is string => !!s))],
        reasons: (Array.isArray(v.reasons) ? (v.reasons as { message?: string }[]) : []).map((r) => r?.message ?? "").filter(Boolean),
        eventsInRange: eventCount.get(`${v.digest}|${v.policy}`) ?? 0,
      });
    }
  }
}

/** The report's header: when, the period and scope, and the summary (everything but its rows). */
export async function complianceHeader(tx: Tx, q: ComplianceQuery, now = new Date()): Promise<Omit<ComplianceReportDto, "rows">> {
  const period = compliancePeriod(q, now);
  return {
    generatedAt: now.toISOString(),
    from: period.from.toISOString(),
    to: period.to.toISOString(),
    scope: { cluster: q.cluster ?? null, namespace: q.namespace ?? null },
    summary: await complianceSummary(tx, q),
  };
}

/**
 * The compliance report in memory (pipeline reports, OpenReports: consumers that need every row at
 * once), at most `cap` rows; the export streams the same rows instead (app/api/exports/compliance).
 */
export async function buildComplianceReport(db: Db, q: ComplianceQuery, now = new Date(), cap = 200_000): Promise<ComplianceReportDto> {
  return withSnapshot(db, async (tx) => {
    const header = await complianceHeader(tx, q, now);
    const rows: ComplianceRow[] = [];
    for await (const r of iterateComplianceRows(tx, { ...q, limit: Math.min(q.limit ?? cap, cap) }, compliancePeriod(q, now))) rows.push(r);
    return complianceReportDto.parse({ ...header, rows });
  });
}
