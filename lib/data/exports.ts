import "server-only";
import type { Db } from "@/lib/db/client";
import { complianceReportDto, type ComplianceQuery, type ComplianceReportDto } from "@/lib/dto/dashboard";

const signerOf = (e: { keyFingerprint: string | null; certIssuer: string | null; certIdentity: string | null }): string | null =>
  e.keyFingerprint ? `key:${e.keyFingerprint.startsWith("sha256:") ? "" : "sha256:"}${e.keyFingerprint}` : e.certIdentity ? `keyless:${e.certIssuer ?? "?"}|${e.certIdentity}` : null;

/**
 * The compliance report: for every running container in scope and every policy that applies to it,
 * the current verdict with the policy version it was computed under, the evidence it rests on (signer,
 * Rekor log index) and how many verdict changes were recorded for that digest and policy in the time range.
 */
export async function buildComplianceReport(db: Db, q: ComplianceQuery, now = new Date()): Promise<ComplianceReportDto> {
  const to = q.to ?? now;
  const from = q.from ?? new Date(to.getTime() - 30 * 86_400_000);
  const verdicts = await db.verdict.findMany({
    where: {
      value: { not: "unmatched" },
      container: {
        pod: {
          deletedAt: null,
          ...(q.cluster ? { cluster: { name: q.cluster } } : {}),
          ...(q.namespace ? { namespace: { name: q.namespace } } : {}),
        },
      },
    },
    include: {
      policy: { select: { name: true, mode: true } },
      container: {
        include: {
          image: { select: { digest: true } },
          pod: { include: { cluster: { select: { name: true } }, namespace: { select: { name: true } }, workload: { select: { kind: true, name: true } } } },
        },
      },
    },
    take: 200_000,
  });
  // a verdict names its evidence as "<artifact manifest digest>#<layer index>" (lib/sigstore/evidence.ts):
  // the stored Evidence row is found by image and artifact digest
  const artifactOf = (id: string) => id.split("#")[0]!;
  const imageIds = [...new Set(verdicts.map((v) => v.container.imageId).filter((id): id is string => !!id))];
  const artifacts = [...new Set(verdicts.flatMap((v) => v.evidenceIds.map(artifactOf)))];
  const evidenceRows = artifacts.length
    ? await db.evidence.findMany({
        where: { imageId: { in: imageIds }, artifactDigest: { in: artifacts }, status: "valid" },
        select: { imageId: true, artifactDigest: true, keyFingerprint: true, certIssuer: true, certIdentity: true, tlogLogIndex: true },
      })
    : [];
  const evidence = new Map<string, (typeof evidenceRows)[number][]>();
  for (const e of evidenceRows) {
    const k = `${e.imageId}|${e.artifactDigest}`;
    evidence.set(k, [...(evidence.get(k) ?? []), e]);
  }
  const digests = [...new Set(verdicts.map((v) => v.container.digest ?? v.container.image?.digest).filter((d): d is string => !!d))];
  const events = digests.length
    ? await db.verificationEvent.groupBy({
        by: ["imageDigest", "policyName"],
        where: { kind: "verdict", imageDigest: { in: digests }, occurredAt: { gte: from, lte: to } },
        _count: { _all: true },
      })
    : [];
  const eventCount = new Map(events.map((e) => [`${e.imageDigest}|${e.policyName}`, e._count._all]));
  const rows = verdicts
    .map((v) => {
      const c = v.container;
      const digest = c.digest ?? c.image?.digest ?? "";
      const used = v.evidenceIds.flatMap((id) => evidence.get(`${c.imageId}|${artifactOf(id)}`) ?? []);
      return {
        cluster: c.pod.cluster.name,
        namespace: c.pod.namespace.name,
        workload: c.pod.workload ? `${c.pod.workload.kind}/${c.pod.workload.name}` : `Pod/${c.pod.name}`,
        container: c.name,
        image: c.imageRef,
        digest,
        policy: v.policy.name,
        policyVersion: v.policyVersion,
        mode: v.policy.mode,
        verdict: v.value,
        evaluatedAt: v.evaluatedAt.toISOString(),
        signers: [...new Set(used.map(signerOf).filter((s): s is string => !!s))],
        rekorLogIndexes: [...new Set(used.map((e) => e.tlogLogIndex?.toString()).filter((s): s is string => !!s))],
        reasons: ((v.reasons as { message?: string }[] | null) ?? []).map((r) => r.message ?? "").filter(Boolean),
        eventsInRange: eventCount.get(`${digest}|${v.policy.name}`) ?? 0,
      };
    })
    .sort((a, b) => a.cluster.localeCompare(b.cluster) || a.namespace.localeCompare(b.namespace) || a.workload.localeCompare(b.workload) || a.container.localeCompare(b.container) || a.policy.localeCompare(b.policy));
  return complianceReportDto.parse({
    generatedAt: now.toISOString(),
    from: from.toISOString(),
    to: to.toISOString(),
    scope: { cluster: q.cluster ?? null, namespace: q.namespace ?? null },
    summary: { rows: rows.length, digests: new Set(rows.map((r) => r.digest)).size, verified: rows.filter((r) => r.verdict === "verified").length },
    rows,
  });
}
