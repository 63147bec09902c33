import "server-only";
import { computeCoverage, knownContainers, overallVerdict, pickFigures } from "@/lib/coverage/compute";
import { getAuditChainStatus } from "@/lib/data/audit";
import { loadContainerVerdicts } from "@/lib/data/report";
import { latestCheckpoint } from "@/lib/audit/store";
import type { Db } from "@/lib/db/client";
import { Prisma } from "@/lib/generated/prisma/client";
import type { AuditorReportQuery } from "@/lib/dto/exports";
import { getExportSigner } from "@/lib/exports/signing-key";
import type { AuditorReport, NonVerifiedDigest } from "@/lib/report/auditor";
import { listAuthorities } from "@/lib/trust/inventory";

/**
 * The auditor's report of a scope and period (rendered to PDF by lib/report/auditor.ts): coverage now
 * and its trend over the period, per namespace, every running digest that is not verified with the
 * reasons of each policy, the policies and authorities in force, and the audit chain's status with its
 * newest signed checkpoint. Everything "now" comes from the stored verdicts, read once.
 */
export async function buildAuditorReport(db: Db, databaseUrl: string, q: AuditorReportQuery, now = new Date()): Promise<AuditorReport> {
  const to = q.to ?? now;
  const from = q.from ?? new Date(to.getTime() - 30 * 86_400_000);
  const containers = await loadContainerVerdicts(db, q);
  const coverage = computeCoverage(containers);
  const fleet = coverage.find((r) => r.scope === "fleet")!;
  // every verdict of a running container in scope: one statement (the compliance export's evidence
  // and event counts are not needed here)
  const verdicts = await db.$queryRaw<{ cluster: string; namespace: string; workload: string; image: string; digest: string | null; policy: string; version: number; mode: string; verdict: string; reasons: unknown }[]>`
    SELECT cl.name AS cluster, n.name AS namespace, COALESCE(w.kind::text || '/' || w.name, 'Pod/' || p.name) AS workload,
           c."imageRef" AS image, COALESCE(c.digest, i.digest) AS digest, pol.name AS policy, v."policyVersion" AS version,
           pol.mode::text AS mode, v.value::text AS verdict, v.reasons
    FROM "Verdict" v
    JOIN "Container" c ON c.id = v."containerId"
    JOIN "Pod" p ON p.id = c."podId" AND p."deletedAt" IS NULL
    JOIN "Namespace" n ON n.id = p."namespaceId"
    JOIN "Cluster" cl ON cl.id = p."clusterId"
    JOIN "Policy" pol ON pol.id = v."policyId"
    LEFT JOIN "Workload" w ON w.id = p."workloadId"
    LEFT JOIN "Image" i ON i.id = c."imageId"
    WHERE v.value <> 'unmatched'
      ${q.cluster ? Prisma.sql`AND cl.name = ${q.cluster}` : Prisma.empty}
      ${q.namespace ? Prisma.sql`AND n.name = ${q.namespace}` : Prisma.empty}`;
  const rows = verdicts.map((v) => ({
    ...v,
    reasons: (Array.isArray(v.reasons) ? (v.reasons as { message?: unknown }[]) : []).map((r) => (typeof r?.message === "string" ? r.message : "")).filter(Boolean),
  }));

  // the trend of the scope: fleet, one cluster's or one namespace's snapshots
  const cluster = q.cluster ? await db.cluster.findUnique({ where: { name: q.cluster }, select: { id: true } }) : null;
  const trendWhere = q.namespace
    ? { scope: "namespace" as const, namespace: q.namespace, ...(cluster ? { clusterId: cluster.id } : {}) }
    : q.cluster
      ? { scope: "cluster" as const, clusterId: cluster?.id ?? "00000000-0000-0000-0000-000000000000" }
      : { scope: "fleet" as const };
  const snapshots = await db.coverageSnapshot.findMany({
    where: { ...trendWhere, takenAt: { gte: from, lte: to } },
    orderBy: { takenAt: "asc" },
    select: { takenAt: true, containersVerified: true, containersFailed: true, containersUnsigned: true },
    take: 5000,
  });
  // a namespace scope without a cluster has one snapshot per cluster at each instant: add them up
  const byTime = new Map<number, { known: number; verified: number }>();
  for (const s of snapshots) {
    const t = s.takenAt.getTime();
    const p = byTime.get(t) ?? { known: 0, verified: 0 };
    p.known += knownContainers(s);
    p.verified += s.containersVerified;
    byTime.set(t, p);
  }
  const trend = [...byTime.entries()]
    .filter(([, p]) => p.known > 0) // a scan that knew nothing is no point of the trend
    .map(([t, p]) => ({ at: new Date(t).toISOString(), known: p.known, verified: p.verified }));

  // every running digest that is not verified, with each policy's verdict and reasons
  const digests = new Map<string, NonVerifiedDigest>();
  const overall = new Map<string, string[]>();
  for (const r of rows) {
    const key = r.digest || `unresolved:${r.image}`;
    const list = overall.get(key);
    if (list) list.push(r.verdict);
    else overall.set(key, [r.verdict]);
  }
  for (const r of rows) {
    const key = r.digest || `unresolved:${r.image}`;
    const verdict = overallVerdict(overall.get(key) as Parameters<typeof overallVerdict>[0]);
    if (verdict === "verified" || verdict === "unmatched") continue;
    let d = digests.get(key);
    if (!d) {
      d = { digest: r.digest || null, verdict, images: [], places: [], policies: [] };
      digests.set(key, d);
    }
    if (!d.images.includes(r.image)) d.images.push(r.image);
    const place = `${r.cluster}/${r.namespace}/${r.workload}`;
    if (!d.places.includes(place)) d.places.push(place);
    if (!d.policies.some((p) => p.policy === r.policy)) {
      d.policies.push({ policy: r.policy, version: r.version, mode: r.mode, verdict: r.verdict, reasons: r.reasons });
    }
  }
  const rank: Record<string, number> = { failed: 0, unsigned: 1, error: 2 };
  const nonVerified = [...digests.values()].sort((a, b) => (rank[a.verdict] ?? 3) - (rank[b.verdict] ?? 3) || (a.digest ?? "").localeCompare(b.digest ?? "") || a.images[0]!.localeCompare(b.images[0]!));

  const [policies, authorities, chain, checkpoint, signer] = await Promise.all([
    db.policy.findMany({
      where: { archivedAt: null },
      orderBy: { name: "asc" },
      select: { name: true, currentVersion: true, mode: true, enabled: true, source: true, sourceCluster: true, updatedAt: true },
    }),
    listAuthorities(db),
    getAuditChainStatus(db, databaseUrl),
    latestCheckpoint(db),
    getExportSigner(db),
  ]);

  return {
    generatedAt: now.toISOString(),
    from: from.toISOString(),
    to: to.toISOString(),
    scope: { cluster: q.cluster ?? null, namespace: q.namespace ?? null },
    coverage: pickFigures(fleet),
    namespaces: coverage
      .filter((r) => r.scope === "namespace")
      .map((r) => ({
        cluster: r.cluster ?? "",
        namespace: r.namespace ?? "",
        total: r.containersTotal,
        verified: r.containersVerified,
        failed: r.containersFailed,
        unsigned: r.containersUnsigned,
        error: r.containersError,
        stale: r.containersStale,
        unmatched: r.containersUnmatched,
      }))
      .sort((a, b) => a.cluster.localeCompare(b.cluster) || a.namespace.localeCompare(b.namespace)),
    trend,
    nonVerified,
    policies: policies.map((p) => ({
      name: p.name,
      version: p.currentVersion,
      mode: p.mode,
      enabled: p.enabled,
      source: p.source === "signet" ? "signet" : `${p.source}${p.sourceCluster ? ` (${p.sourceCluster})` : ""}`,
      updatedAt: p.updatedAt.toISOString(),
    })),
    authorities: authorities
      .map((a) => ({
        name: a.name,
        kind: a.kind,
        status: a.status,
        identity: a.kind === "key" ? (a.fingerprint ? `sha256:${a.fingerprint}` : "(no key)") : a.identities.map((i) => `${i.subject} @ ${i.issuer}`).join("; "),
        algorithm: a.algorithm,
        rotateBy: a.rotateBy,
        policies: a.policies.map((p) => `${p.policy} (${p.alias})`),
      }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    chain: {
      ok: chain.ok,
      checked: chain.checked,
      head: chain.head,
      problem: chain.problem ? `${chain.problem.kind}: ${chain.problem.message}` : null,
      witness: chain.witness,
      checkedAt: chain.checkedAt,
      checkpoint: checkpoint ? { seq: checkpoint.seq.toString(), hash: checkpoint.hash, at: checkpoint.at, keyId: checkpoint.keyId, signature: checkpoint.signature } : null,
      checkpointKey: chain.keyFingerprint,
    },
    exportKey: signer.fingerprint,
  };
}
