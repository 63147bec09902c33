import "server-only";
import type { Db } from "@/lib/db/client";
import { percent } from "@/lib/coverage/compute";
import { overviewDto, type OverviewDto } from "@/lib/dto/read";

const FIGURES = {
  containersTotal: true,
  containersVerified: true,
  containersFailed: true,
  containersUnsigned: true,
  containersError: true,
  containersUnmatched: true,
  imagesTotal: true,
  imagesVerified: true,
} as const;

/**
 * The overview: the latest coverage snapshot (fleet, clusters, worst namespaces), the fleet trend and
 * the newest failures. Reads precomputed snapshots, so its cost does not grow with the fleet.
 */
export async function getOverview(db: Db, opts: { trendDays?: number; now?: Date } = {}): Promise<OverviewDto> {
  const now = opts.now ?? new Date();
  const since = new Date(now.getTime() - (opts.trendDays ?? 30) * 86_400_000);
  const latestFleet = await db.coverageSnapshot.findFirst({ where: { scope: "fleet" }, orderBy: { takenAt: "desc" } });
  const at = latestFleet?.takenAt;
  const [clusterRows, nsRows, trend, failures, lastScan] = await Promise.all([
    at
      ? db.coverageSnapshot.findMany({ where: { scope: "cluster", takenAt: at }, include: { cluster: { select: { name: true } } } })
      : Promise.resolve([]),
    at
      ? db.coverageSnapshot.findMany({ where: { scope: "namespace", takenAt: at }, include: { cluster: { select: { name: true } } } })
      : Promise.resolve([]),
    db.coverageSnapshot.findMany({ where: { scope: "fleet", takenAt: { gte: since } }, orderBy: { takenAt: "asc" }, select: { takenAt: true, ...FIGURES }, take: 2000 }),
    db.verdict.findMany({
      where: { value: { in: ["failed", "unsigned", "error"] }, container: { pod: { deletedAt: null } } },
      orderBy: { changedAt: "desc" },
      take: 10,
      include: {
        policy: { select: { name: true, mode: true } },
        container: { include: { pod: { include: { namespace: true, cluster: true, workload: true } } } },
      },
    }),
    db.scan.findFirst({ orderBy: { createdAt: "desc" }, select: { id: true, status: true, createdAt: true, finishedAt: true } }),
  ]);
  const pick = (r: Record<string, unknown>) => Object.fromEntries(Object.keys(FIGURES).map((k) => [k, r[k] as number])) as Record<keyof typeof FIGURES, number>;
  return overviewDto.parse({
    fleet: latestFleet ? { takenAt: latestFleet.takenAt.toISOString(), ...pick(latestFleet) } : null,
    clusters: clusterRows.map((r) => ({ cluster: r.cluster?.name ?? "(deleted)", ...pick(r) })).sort((a, b) => a.cluster.localeCompare(b.cluster)),
    worstNamespaces: nsRows
      .map((r) => ({ cluster: r.cluster?.name ?? "(deleted)", namespace: r.namespace ?? "", ...pick(r), coveragePct: percent(r.containersVerified, r.containersTotal) }))
      .filter((r) => r.containersTotal > r.containersUnmatched)
      .sort((a, b) => a.coveragePct - b.coveragePct || b.containersTotal - a.containersTotal)
      .slice(0, 10),
    trend: trend.map((t) => ({ takenAt: t.takenAt.toISOString(), ...pick(t) })),
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
      ? { id: lastScan.id, status: lastScan.status, createdAt: lastScan.createdAt.toISOString(), finishedAt: lastScan.finishedAt?.toISOString() ?? null }
      : null,
  });
}
