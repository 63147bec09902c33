import "server-only";
import type { Db } from "@/lib/db/client";

/** The figures the first page shows; grows into the coverage overview. */
export interface OverviewDto {
  clusters: number;
  namespaces: number;
  runningContainers: number;
  distinctImages: number;
  policies: number;
  lastScan: { status: string; finishedAt: string | null; createdAt: string } | null;
}

export async function getOverview(db: Db): Promise<OverviewDto> {
  const [clusters, namespaces, runningContainers, distinctImages, policies, lastScan] = await Promise.all([
    db.cluster.count({ where: { enabled: true } }),
    db.namespace.count({ where: { deletedAt: null } }),
    db.container.count({ where: { pod: { deletedAt: null } } }),
    db.image.count(),
    db.policy.count({ where: { archivedAt: null } }),
    db.scan.findFirst({ orderBy: { createdAt: "desc" }, select: { status: true, finishedAt: true, createdAt: true } }),
  ]);
  return {
    clusters,
    namespaces,
    runningContainers,
    distinctImages,
    policies,
    lastScan: lastScan
      ? { status: lastScan.status, finishedAt: lastScan.finishedAt?.toISOString() ?? null, createdAt: lastScan.createdAt.toISOString() }
      : null,
  };
}
