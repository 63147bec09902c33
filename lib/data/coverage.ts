import "server-only";
import type { Db } from "@/lib/db/client";
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

/**
 * The newest definite failures (failed, unsigned) and errors with nothing known before, of running
 * containers; stale ones are grouped apart. One index-led read per value ("Verdict"(value, changedAt),
 * newest first, stopping at `take`), merged: never a sort of every failing verdict of the fleet.
 */
async function newestFailures(db: Db, take: number) {
  const include = {
    policy: { select: { name: true, mode: true } },
    container: { include: { pod: { include: { namespace: true, cluster: true, workload: true } } } },
  } as const;
  const running = { container: { pod: { deletedAt: null } } };
  const lists = await Promise.all([
    db.verdict.findMany({ where: { value: "failed", ...running }, orderBy: { changedAt: "desc" }, take, include }),
    db.verdict.findMany({ where: { value: "unsigned", ...running }, orderBy: { changedAt: "desc" }, take, include }),
    db.verdict.findMany({ where: { value: "error", lastKnownValue: null, ...running }, orderBy: { changedAt: "desc" }, take, include }),
  ]);
  return lists
    .flat()
    .sort((a, b) => b.changedAt.getTime() - a.changedAt.getTime())
    .slice(0, take);
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
