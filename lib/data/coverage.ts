import "server-only";
import type { Db } from "@/lib/db/client";
import { FIGURE_KEYS, FIGURES_SELECT, percent, pickFigures as pick, type CoverageFigures } from "@/lib/coverage/compute";
import { overviewDto, type OverviewDto } from "@/lib/dto/read";
import { getEnv } from "@/lib/env";
import { listClusterTargets } from "@/lib/scan/real-adapters";

const ZERO = Object.fromEntries(FIGURE_KEYS.map((k) => [k, 0])) as unknown as CoverageFigures;

/**
 * The overview, one source of truth: every figure (coverage, verdict mix, clusters, namespaces and
 * the inventory counts) comes from the latest coverage snapshot — written when a scan or a
 * re-evaluation finishes — so no two of them can disagree; while a re-evaluation runs, `reevaluation`
 * says the figures are from before it. Newest failures are the current non-verified verdicts
 * (definite, or unknown); verdicts only stale are grouped by reason in `stale` (ADR 0013). Reads
 * precomputed snapshots, so its cost does not grow with the fleet.
 */
export async function getOverview(db: Db, opts: { trendDays?: number; now?: Date } = {}): Promise<OverviewDto> {
  const env = getEnv();
  const now = opts.now ?? new Date();
  const since = new Date(now.getTime() - (opts.trendDays ?? 30) * 86_400_000);
  const latestFleet = await db.coverageSnapshot.findFirst({ where: { scope: "fleet" }, orderBy: { takenAt: "desc" } });
  const at = latestFleet?.takenAt;
  const [clusterRows, nsRows, trend, failures, stale, lastScan, reevaluation, policies, clusterStates, firstRun] = await Promise.all([
    at
      ? db.coverageSnapshot.findMany({ where: { scope: "cluster", takenAt: at }, include: { cluster: { select: { name: true } } } })
      : Promise.resolve([]),
    at
      ? db.coverageSnapshot.findMany({ where: { scope: "namespace", takenAt: at }, include: { cluster: { select: { name: true } } } })
      : Promise.resolve([]),
    db.coverageSnapshot.findMany({
      where: { scope: "fleet", takenAt: { gte: since }, containersTotal: { gt: 0 } },
      orderBy: { takenAt: "desc" },
      select: { takenAt: true, ...FIGURES_SELECT },
      take: 2000,
    }),
    db.verdict.findMany({
      // definite failures and errors with nothing known before; stale ones are grouped below
      where: {
        OR: [{ value: { in: ["failed", "unsigned"] } }, { value: "error", lastKnownValue: null }],
        container: { pod: { deletedAt: null } },
      },
      orderBy: { changedAt: "desc" },
      take: 10,
      include: {
        policy: { select: { name: true, mode: true } },
        container: { include: { pod: { include: { namespace: true, cluster: true, workload: true } } } },
      },
    }),
    db.$queryRaw<{ reason: string | null; since: Date; containers: number; lastKnown: string; count: number }[]>`
      SELECT v.reasons->0->>'message' AS reason, min(v."changedAt") AS since, v."lastKnownValue"::text AS "lastKnown",
             count(DISTINCT v."containerId")::int AS containers
      FROM "Verdict" v
      JOIN "Container" c ON c.id = v."containerId"
      JOIN "Pod" p ON p.id = c."podId" AND p."deletedAt" IS NULL
      WHERE v.value = 'error' AND v."lastKnownValue" IS NOT NULL
      GROUP BY 1, 3`,
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
  // stale groups: one per reason, with the mix of last known verdicts
  const groups = new Map<string, { reason: string; since: Date; containers: number; lastKnown: Record<string, number> }>();
  for (const r of stale) {
    const reason = r.reason ?? "unknown reason";
    const g = groups.get(reason) ?? { reason, since: r.since, containers: 0, lastKnown: {} };
    g.containers += r.containers;
    g.lastKnown[r.lastKnown] = (g.lastKnown[r.lastKnown] ?? 0) + r.containers;
    if (r.since < g.since) g.since = r.since;
    groups.set(reason, g);
  }
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
        const name = r.cluster?.name ?? "(deleted)";
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
          .filter((c) => !clusterRows.some((r) => r.cluster?.name === c.name))
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
        cluster: r.cluster?.name ?? "(deleted)",
        namespace: r.namespace ?? "",
        ...pick(r),
        coveragePct: percent(r.containersVerified, r.containersVerified + r.containersFailed + r.containersUnsigned),
      }))
      // a namespace where nothing is known now (all stale or error) is not measurably worst: its
      // state is in the stale groups, never a 0 %
      .filter((r) => r.containersVerified + r.containersFailed + r.containersUnsigned > 0)
      .sort((a, b) => a.coveragePct - b.coveragePct || b.containersTotal - a.containersTotal)
      .slice(0, 10),
    trend: trend.reverse().map((t) => ({ takenAt: t.takenAt.toISOString(), ...pick(t) })),
    stale: [...groups.values()]
      .sort((a, b) => b.containers - a.containers)
      .slice(0, 10)
      .map((g) => ({ ...g, since: g.since.toISOString() })),
    reevaluation: reevaluation ? { ...reevaluation, createdAt: reevaluation.createdAt.toISOString() } : null,
    firstRun,
    newestFailures: failures.map((v) => {
      const pod = v.container.pod;
      const reasons = (v.reasons as { message?: string }[] | null) ?? [];
      return {
        containerId: v.containerId,
        cluster: pod.cluster.name,
        namespace: pod.namespace.name,
        workload: pod.workload ? `${pod.workload.kind}/${pod.workload.name}` : `Pod/${pod.name}`,
        imageId: v.container.imageId,
        image: v.container.imageRef,
        policy: v.policy.name,
        mode: v.policy.mode,
        verdict: v.value,
        reason: reasons[0]?.message ?? null,
        changedAt: v.changedAt.toISOString(),
      };
    }),
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
