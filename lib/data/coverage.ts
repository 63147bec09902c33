import "server-only";
import type { Db } from "@/lib/db/client";
import { Prisma } from "@/lib/generated/prisma/client";
import { FIGURE_KEYS, FIGURES_SELECT, coverage, coverageBase, pickFigures as pick, type CoverageFigures } from "@/lib/coverage/compute";
import { overviewDto, type OverviewDto } from "@/lib/dto/read";
import { getEnv } from "@/lib/env";
import { listClusterTargets } from "@/lib/scan/real-adapters";

const ZERO = Object.fromEntries(FIGURE_KEYS.map((k) => [k, 0])) as unknown as CoverageFigures;

/**
 * The overview, one source of truth: every figure (coverage, verdict mix, clusters, namespaces and
 * the inventory counts, and the stale containers grouped by reason) comes from the latest coverage
 * snapshot — written when a scan or a re-evaluation finishes — so no two of them can disagree; while a
 * re-evaluation runs, `reevaluation` says the figures are from before it. Newest failures are the
 * current non-verified verdicts (definite, or unknown; stale ones are in the groups, ADR 0013), read
 * newest first through an index. Reads precomputed snapshots, so its cost does not grow with the fleet.
 */
export async function getOverview(db: Db, opts: { trendDays?: number; now?: Date } = {}): Promise<OverviewDto> {
  const env = getEnv();
  const now = opts.now ?? new Date();
  const since = new Date(now.getTime() - (opts.trendDays ?? 30) * 86_400_000);
  const latestFleet = await db.coverageSnapshot.findFirst({ where: { scope: "fleet" }, orderBy: { takenAt: "desc" } });
  const at = latestFleet?.takenAt;
  const [clusterRows, nsRows, trend, failures, lastScan, reevaluation, policies, clusterStates, firstRun] = await Promise.all([
    at ? snapshotRows(db, "cluster", at) : Promise.resolve([]),
    // every namespace row of the snapshot is ranked (by the one coverage ratio), its figures only
    at ? snapshotRows(db, "namespace", at) : Promise.resolve([]),
    // trendDays 0: no trend (the overview page draws getCoverageTrend's)
    opts.trendDays === 0
      ? Promise.resolve([])
      : db.coverageSnapshot.findMany({
          where: { scope: "fleet", takenAt: { gte: since }, containersTotal: { gt: 0 } },
          orderBy: { takenAt: "desc" },
          select: { takenAt: true, ...FIGURES_SELECT },
          take: 2000,
        }),
    newestFailures(db, 10),
    db.scan.findFirst({
      where: { kind: { in: ["full", "cluster"] } },
      orderBy: { createdAt: "desc" },
      select: { id: true, status: true, createdAt: true, finishedAt: true, errors: true },
    }),
    db.scan.findFirst({
      where: { kind: "reevaluate", status: { in: ["queued", "running"] } },
      orderBy: { createdAt: "desc" },
      select: { id: true, trigger: true, status: true, done: true, total: true, createdAt: true },
    }),
    db.policy.count({ where: { archivedAt: null } }),
    db.cluster.findMany({ where: { enabled: true }, select: { name: true, lastError: true, lastErrorAt: true, lastInventoryAt: true } }),
    firstRunState(db),
  ]);
  const stateOf = new Map(clusterStates.map((c) => [c.name, c]));
  const target = (cluster: string) => env.SIGNET_CLUSTER_COVERAGE_TARGETS[cluster] ?? env.SIGNET_COVERAGE_TARGET;
  return overviewDto.parse({
    fleet: latestFleet ? { takenAt: latestFleet.takenAt.toISOString(), ...pick(latestFleet) } : null,
    counts: {
      clusters: clusterRows.length,
      namespaces: nsRows.length,
      runningContainers: latestFleet?.containersTotal ?? 0,
      distinctImages: latestFleet?.imagesTotal ?? 0,
      policies,
    },
    clusters: clusterRows
      .map((r) => {
        const name = r.cluster ?? "(deleted)";
        const s = stateOf.get(name);
        return {
          cluster: name,
          ...pick(r),
          target: target(name),
          lastError: s?.lastError ?? null,
          lastErrorAt: s?.lastErrorAt?.toISOString() ?? null,
          lastInventoryAt: s?.lastInventoryAt?.toISOString() ?? null,
        };
      })
      // a known cluster without containers in the snapshot (empty, or never listed) is shown too
      .concat(
        clusterStates
          .filter((c) => !clusterRows.some((r) => r.cluster === c.name))
          .map((c) => ({
            cluster: c.name,
            ...ZERO,
            target: target(c.name),
            lastError: c.lastError,
            lastErrorAt: c.lastErrorAt?.toISOString() ?? null,
            lastInventoryAt: c.lastInventoryAt?.toISOString() ?? null,
          })),
      )
      .sort((a, b) => a.cluster.localeCompare(b.cluster)),
    worstNamespaces: nsRows
      .map((r) => ({
        cluster: r.cluster ?? "(deleted)",
        namespace: r.namespace ?? "",
        ...pick(r),
        coveragePct: coverage(r) ?? 0,
      }))
      // a namespace no policy applies to has no coverage to rank
      .filter((r) => coverageBase(r) > 0)
      .sort((a, b) => a.coveragePct - b.coveragePct || b.containersTotal - a.containersTotal)
      .slice(0, 10),
    trend: trend.reverse().map((t) => ({ takenAt: t.takenAt.toISOString(), ...pick(t) })),
    // grouped by reason when the snapshot was written, from the verdicts its figures count
    stale: latestFleet?.staleGroups ?? [],
    reevaluation: reevaluation ? { ...reevaluation, createdAt: reevaluation.createdAt.toISOString() } : null,
    firstRun,
    newestFailures: failures.map((f) => ({ ...f, changedAt: f.changedAt.toISOString() })),
    lastScan: lastScan
      ? {
          id: lastScan.id,
          status: lastScan.status,
          createdAt: lastScan.createdAt.toISOString(),
          finishedAt: lastScan.finishedAt?.toISOString() ?? null,
          errors: ((lastScan.errors ?? []) as { cluster?: string; stage: string; message: string }[])
            .map((e) => ({ ...(e.cluster ? { cluster: e.cluster } : {}), stage: e.stage, message: e.message }))
            .sort((a, b) => rank(a.stage) - rank(b.stage))
            .slice(0, 20),
        }
      : null,
  });
}

/**
 * The newest definite failures (failed, unsigned) and errors with nothing known before, of running
 * containers; stale ones are grouped apart. One statement: an index-led read per value
 * ("Verdict"(value, changedAt), newest first, stopping at `take`), merged, then the ten rows joined to
 * their container, pod, namespace, cluster, workload and policy — never a sort of every failing
 * verdict of the fleet, nor a query per relation.
 */
async function newestFailures(db: Db, take: number) {
  const newest = (where: Prisma.Sql) => Prisma.sql`(
    SELECT v.id FROM "Verdict" v JOIN "Container" c ON c.id = v."containerId" JOIN "Pod" p ON p.id = c."podId" AND p."deletedAt" IS NULL
    WHERE ${where} ORDER BY v."changedAt" DESC LIMIT ${take})`;
  return db.$queryRaw<FailureRow[]>`
    SELECT v."containerId"::text AS "containerId", cl.name AS cluster, n.name AS namespace,
           CASE WHEN w.id IS NULL THEN 'Pod/' || p.name ELSE w.kind::text || '/' || w.name END AS workload,
           c."imageId"::text AS "imageId", c."imageRef" AS image, pol.name AS policy, pol.mode::text AS mode,
           v.value::text AS verdict, v.reasons->0->>'message' AS reason, v."changedAt"
    FROM "Verdict" v
    JOIN "Container" c ON c.id = v."containerId"
    JOIN "Pod" p ON p.id = c."podId"
    JOIN "Namespace" n ON n.id = p."namespaceId"
    JOIN "Cluster" cl ON cl.id = p."clusterId"
    LEFT JOIN "Workload" w ON w.id = p."workloadId"
    JOIN "Policy" pol ON pol.id = v."policyId"
    WHERE v.id IN (${newest(Prisma.sql`v.value = 'failed'`)} UNION ALL ${newest(Prisma.sql`v.value = 'unsigned'`)}
                   UNION ALL ${newest(Prisma.sql`v.value = 'error' AND v."lastKnownValue" IS NULL`)})
    ORDER BY v."changedAt" DESC, v.id
    LIMIT ${take}`;
}

interface FailureRow {
  containerId: string;
  cluster: string;
  namespace: string;
  workload: string;
  imageId: string | null;
  image: string;
  policy: string;
  mode: string;
  verdict: string;
  reason: string | null;
  changedAt: Date;
}

/** The figures of one scope's rows of a snapshot, with their cluster's name: one narrow read, no relation query. */
async function snapshotRows(db: Db, scope: "cluster" | "namespace", at: Date) {
  return db.$queryRaw<(CoverageFigures & { cluster: string | null; namespace: string | null })[]>`
    SELECT cl.name AS cluster, s.namespace, ${FIGURE_COLUMNS}
    FROM "CoverageSnapshot" s LEFT JOIN "Cluster" cl ON cl.id = s."clusterId"
    WHERE s.scope = ${scope}::"CoverageScope" AND s."takenAt" = ${at}`;
}

const FIGURE_COLUMNS = Prisma.raw(FIGURE_KEYS.map((k) => `s."${k}"`).join(", "));

const rank = (stage: string) => (stage === "configuration" ? 0 : stage === "inventory" ? 1 : 2);

/**
 * The first-run checklist (cluster → key → policy → scan) until a scan succeeded once; null after.
 */
async function firstRunState(db: Db): Promise<OverviewDto["firstRun"]> {
  const succeeded = await db.scan.findFirst({ where: { kind: { in: ["full", "cluster"] }, status: { in: ["succeeded", "partial"] } }, select: { id: true } });
  if (succeeded) return null;
  const [keys, policies] = await Promise.all([db.authority.count({ where: { status: { not: "revoked" } } }), db.policy.count({ where: { archivedAt: null } })]);
  // the clusters the configuration names now (kubeconfig contexts, in-cluster service account)
  const problems: string[] = [];
  const clusters = listClusterTargets(getEnv(), problems);
  return {
    cluster: clusters.length > 0,
    clusterDetail: clusters.length ? clusters.map((c) => c.name).join(", ") : problems[0] ?? "no kubeconfig context and no in-cluster service account",
    // a policy can embed its keys: a policy is a key too
    key: keys > 0 || policies > 0,
    policy: policies > 0,
    scan: false,
  };
}
