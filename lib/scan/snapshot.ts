import "server-only";
import type { Db } from "@/lib/db/client";
import { computeCoverage } from "@/lib/coverage/compute";
import { loadContainerVerdicts } from "@/lib/data/report";

/**
 * Writes one coverage snapshot (fleet, every cluster, every namespace, same `takenAt`) from the latest
 * verdicts of the running containers — with their last known values, and whether their cluster could
 * be listed (stale: ADR 0013). Charts over time and every figure of the overview read these rows.
 * With `replaceWithinMs`, the snapshots already taken in the same time bucket are replaced (refreshes
 * between scans, lib/watch).
 */
export async function writeCoverageSnapshot(
  db: Db,
  now = new Date(),
  opts: { replaceWithinMs?: number } = {},
): Promise<{ rows: number; fleet: ReturnType<typeof computeCoverage>[number] }> {
  const rows = await loadContainerVerdicts(db);
  const coverage = computeCoverage(rows);
  const clusters = new Map((await db.cluster.findMany({ select: { id: true, name: true } })).map((c) => [c.name, c.id]));
  const data = coverage.map(({ scope, cluster, namespace, ...figures }) => ({
    takenAt: now,
    scope,
    clusterId: cluster ? (clusters.get(cluster) ?? null) : null,
    namespace,
    ...figures,
  }));
  // a refresh between scans replaces the snapshot of its time bucket: charts keep one point per bucket
  if (opts.replaceWithinMs) {
    const bucket = new Date(Math.floor(now.getTime() / opts.replaceWithinMs) * opts.replaceWithinMs);
    await db.coverageSnapshot.deleteMany({ where: { takenAt: { gte: bucket, lte: now } } });
  }
  for (let i = 0; i < data.length; i += 1000) await db.coverageSnapshot.createMany({ data: data.slice(i, i + 1000) });
  return { rows: data.length, fleet: coverage[0]! };
}
