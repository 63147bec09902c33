import "server-only";
import type { Db } from "@/lib/db/client";
import { computeCoverage, type ContainerVerdicts, type DefiniteVerdict, type Verdict } from "@/lib/coverage/compute";

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
  const raw = await db.$queryRaw<{ id: string; cluster: string; clusterStale: boolean; namespace: string; digest: string | null; verdicts: string[]; known: (string | null)[] }[]>`
    SELECT c.id, cl.name AS cluster, (cl."lastError" IS NOT NULL) AS "clusterStale", n.name AS namespace, c.digest,
           COALESCE(array_agg(v.value::text ORDER BY v.id) FILTER (WHERE v.value IS NOT NULL), '{}') AS verdicts,
           COALESCE(array_agg(v."lastKnownValue"::text ORDER BY v.id) FILTER (WHERE v.value IS NOT NULL), '{}') AS known
    FROM "Container" c
    JOIN "Pod" p ON p.id = c."podId" AND p."deletedAt" IS NULL
    JOIN "Namespace" n ON n.id = p."namespaceId"
    JOIN "Cluster" cl ON cl.id = p."clusterId"
    LEFT JOIN "Verdict" v ON v."containerId" = c.id
    GROUP BY c.id, cl.name, cl."lastError", n.name, c.digest`;
  const rows: ContainerVerdicts[] = raw.map((r) => ({
    containerId: r.id,
    cluster: r.cluster,
    namespace: r.namespace,
    digest: r.digest,
    verdicts: r.verdicts as Verdict[],
    lastKnown: r.known as (DefiniteVerdict | null)[],
    clusterStale: r.clusterStale,
  }));
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
