import "server-only";
import type { Db } from "@/lib/db/client";
import { computeCoverage, staleGroups } from "@/lib/coverage/compute";
import type { Prisma } from "@/lib/generated/prisma/client";
import { loadContainerVerdicts } from "@/lib/data/report";

/**
 * Writes one coverage snapshot (fleet, every cluster, every namespace, same `takenAt`) from the latest
 * verdicts of the running containers — with their last known values, and whether their cluster could
 * be listed (stale: ADR 0013). Charts over time and every figure of the overview read these rows; the
 * fleet row also keeps the stale containers grouped by reason (`staleGroups`).
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
  // why the fleet's stale containers are stale, from the same rows as its figures (the overview's card)
  const groups = staleGroups(rows, now);
  const clusters = new Map((await db.cluster.findMany({ select: { id: true, name: true } })).map((c) => [c.name, c.id]));
  const data = coverage.map(({ scope, cluster, namespace, ...figures }) => ({
    takenAt: now,
    scope,
    clusterId: cluster ? (clusters.get(cluster) ?? null) : null,
    namespace,
    ...figures,
    ...(scope === "fleet" ? { staleGroups: groups as unknown as Prisma.InputJsonValue } : {}),
  }));
  // a refresh between scans replaces the snapshot of its time bucket: charts keep one point per bucket
  if (opts.replaceWithinMs) {
    const bucket = new Date(Math.floor(now.getTime() / opts.replaceWithinMs) * opts.replaceWithinMs);
    await db.coverageSnapshot.deleteMany({ where: { takenAt: { gte: bucket, lte: now } } });
  }
  for (let i = 0; i < data.length; i += 1000) await db.coverageSnapshot.createMany({ data: data.slice(i, i + 1000) });
  return { rows: data.length, fleet: coverage[0]! };
}
