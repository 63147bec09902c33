import "server-only";
import { bucketCounts, computeCoverage, coverageBase, coverageVerified, overallVerdict, pickFigures, type ContainerVerdicts, type DefiniteVerdict, type Verdict } from "@/lib/coverage/compute";
import { getAuditChainStatusSinceVerified } from "@/lib/data/audit";
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
 * newest signed checkpoint — walked only from the newest verified checkpoint (a full walk's signed
 * statement; ADR 0008), which the report says. Everything "now" comes from the stored verdicts, read
 * once in one statement.
 */
export async function buildAuditorReport(db: Db, databaseUrl: string, q: AuditorReportQuery, now = new Date()): Promise<AuditorReport> {
  const to = q.to ?? now;
  const from = q.from ?? new Date(to.getTime() - 30 * 86_400_000);
  // the trend of the scope: fleet, one cluster's or one namespace's snapshots
  const trendWhere = q.namespace
    ? { scope: "namespace" as const, namespace: q.namespace, ...(q.cluster ? { cluster: { name: q.cluster } } : {}) }
    : q.cluster
      ? { scope: "cluster" as const, cluster: { name: q.cluster } }
      : { scope: "fleet" as const };
  // every read at once (each on its own connection): the verdict rows, the trend, what is in force,
  // and the audit chain walked from its newest verified checkpoint
  const [verdictRows, snapshots, policies, authorities, chain, checkpoint, signer] = await Promise.all([
    loadScopeVerdicts(db, q),
    db.coverageSnapshot.findMany({
      where: { ...trendWhere, takenAt: { gte: from, lte: to } },
      orderBy: { takenAt: "asc" },
      select: { takenAt: true, containersTotal: true, containersUnmatched: true, containersVerified: true, containersStaleVerified: true },
      take: 5000,
    }),
    db.policy.findMany({
      where: { archivedAt: null },
      orderBy: { name: "asc" },
      select: { name: true, currentVersion: true, mode: true, enabled: true, source: true, sourceCluster: true, updatedAt: true },
    }),
    listAuthorities(db),
    getAuditChainStatusSinceVerified(db, databaseUrl),
    latestCheckpoint(db),
    getExportSigner(db),
  ]);
  // the container rows coverage is computed from (lib/coverage/compute), and every applicable verdict
  const byContainer = new Map<string, ContainerVerdicts>();
  const rows: { cluster: string; namespace: string; workload: string; image: string; digest: string | null; policy: string; version: number; mode: string; verdict: string; reasons: string[] }[] = [];
  for (const v of verdictRows) {
    let c = byContainer.get(v.containerId);
    if (!c) {
      c = { containerId: v.containerId, cluster: v.cluster, namespace: v.namespace, digest: v.containerDigest, verdicts: [], lastKnown: [], clusterStale: v.clusterStale };
      byContainer.set(v.containerId, c);
    }
    if (v.verdict === null || v.policy === null) continue;
    c.verdicts.push(v.verdict as Verdict);
    c.lastKnown!.push(v.lastKnown as DefiniteVerdict | null);
    if (v.verdict === "unmatched") continue;
    rows.push({
      cluster: v.cluster,
      namespace: v.namespace,
      workload: v.workload,
      image: v.image,
      digest: v.containerDigest ?? v.imageDigest,
      policy: v.policy,
      version: v.version ?? 0,
      mode: v.mode ?? "",
      verdict: v.verdict,
      reasons: (Array.isArray(v.reasons) ? (v.reasons as { message?: unknown }[]) : []).map((r) => (typeof r?.message === "string" ? r.message : "")).filter(Boolean),
    });
  }
  const coverage = computeCoverage([...byContainer.values()]);
  const fleet = coverage.find((r) => r.scope === "fleet")!;

  // a namespace scope without a cluster has one snapshot per cluster at each instant: add them up
  const byTime = new Map<number, { base: number; verified: number }>();
  for (const s of snapshots) {
    const t = s.takenAt.getTime();
    const p = byTime.get(t) ?? { base: 0, verified: 0 };
    p.base += coverageBase(s);
    p.verified += coverageVerified(s);
    byTime.set(t, p);
  }
  const trend = [...byTime.entries()]
    .filter(([, p]) => p.base > 0) // a scan where no policy applied to anything is no point of the trend
    .map(([t, p]) => ({ at: new Date(t).toISOString(), base: p.base, verified: p.verified }));

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
        ...bucketCounts(r),
        staleVerified: r.containersStaleVerified,
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
        identity: a.kind === "key" ? (a.fingerprint ?? "(no key)") : a.identities.map((i) => `${i.subject} @ ${i.issuer}`).join("; "),
        algorithm: a.algorithm,
        rotateBy: a.rotateBy,
        policies: a.policies.map((p) => `${p.policy} (${p.alias})`),
      }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    chain: {
      ok: chain.status.ok,
      checked: chain.status.checked,
      head: chain.status.head,
      problem: chain.status.problem ? `${chain.status.problem.kind}: ${chain.status.problem.message}` : null,
      witness: chain.status.witness,
      checkedAt: chain.status.checkedAt,
      checkpoint: checkpoint ? { seq: checkpoint.seq.toString(), hash: checkpoint.hash, at: checkpoint.at, keyId: checkpoint.keyId, signature: checkpoint.signature } : null,
      checkpointKey: chain.status.keyFingerprint,
      verifiedFrom: chain.from,
    },
    exportKey: signer.fingerprint,
  };
}

interface ScopeVerdictRow {
  containerId: string;
  cluster: string;
  clusterStale: boolean;
  namespace: string;
  workload: string;
  image: string;
  containerDigest: string | null;
  imageDigest: string | null;
  policy: string | null;
  version: number | null;
  mode: string | null;
  verdict: string | null;
  lastKnown: string | null;
  reasons: unknown;
}

/**
 * Every running container in scope with each of its verdicts (one row per verdict; one row without a
 * verdict for a container no policy has judged): one statement for both the coverage figures and the
 * list of digests not verified.
 */
function loadScopeVerdicts(db: Db, q: AuditorReportQuery): Promise<ScopeVerdictRow[]> {
  return db.$queryRaw<ScopeVerdictRow[]>`
    SELECT c.id::text AS "containerId", cl.name AS cluster, (cl."lastError" IS NOT NULL) AS "clusterStale", n.name AS namespace,
           COALESCE(w.kind::text || '/' || w.name, 'Pod/' || p.name) AS workload, c."imageRef" AS image,
           c.digest AS "containerDigest", i.digest AS "imageDigest", pol.name AS policy, v."policyVersion" AS version,
           pol.mode::text AS mode, v.value::text AS verdict, v."lastKnownValue"::text AS "lastKnown", v.reasons
    FROM "Container" c
    JOIN "Pod" p ON p.id = c."podId" AND p."deletedAt" IS NULL
    JOIN "Namespace" n ON n.id = p."namespaceId"
    JOIN "Cluster" cl ON cl.id = p."clusterId"
    LEFT JOIN "Workload" w ON w.id = p."workloadId"
    LEFT JOIN "Image" i ON i.id = c."imageId"
    LEFT JOIN "Verdict" v ON v."containerId" = c.id
    LEFT JOIN "Policy" pol ON pol.id = v."policyId"
    WHERE TRUE
      ${q.cluster ? Prisma.sql`AND cl.name = ${q.cluster}` : Prisma.empty}
      ${q.namespace ? Prisma.sql`AND n.name = ${q.namespace}` : Prisma.empty}`;
}
