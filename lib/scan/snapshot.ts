import "server-only";
import type { Db } from "@/lib/db/client";
import { CoverageAccumulator, type CoverageSnapshotRow } from "@/lib/coverage/compute";
import type { Prisma } from "@/lib/generated/prisma/client";
import { containerVerdictsQuery, toContainerVerdicts, type ContainerVerdictsRow } from "@/lib/data/report";
import { cursorPages } from "@/lib/db/cursor";
import { withTransaction, type Tx } from "@/lib/db/transaction";

/**
 * Writes one coverage snapshot (fleet, every cluster, every namespace, same `takenAt`) from the latest
 * verdicts of the running containers — with their last known values, and whether their cluster could
 * be listed (stale: ADR 0013). Charts over time and every figure of the overview read these rows; the
 * fleet row also keeps the stale containers grouped by reason (`staleGroups`).
 * With `replaceWithinMs`, the snapshots already taken in the same time bucket are replaced (refreshes
 * between scans, lib/watch).
 *
 * The containers are read through a cursor, PAGE rows at a time, and counted as they come
 * (CoverageAccumulator); the cursor sees one state of the database. It runs in the caller's
 * transaction (`db` a transaction client, as finalizeScan's), else in one of its own. At 100,000
 * containers the rows read at once exhausted the worker's heap (docs/decisions/0021).
 */
export async function writeCoverageSnapshot(
  db: Db,
  now = new Date(),
  opts: { replaceWithinMs?: number; pageSize?: number } = {},
): Promise<{ rows: number; fleet: CoverageSnapshotRow }> {
  // an interactive transaction's client has no $transaction of its own
  if ("$transaction" in db) return withTransaction(db, (tx) => writeIn(tx, now, opts), { timeout: 120_000 });
  return writeIn(db as unknown as Tx, now, opts);
}

async function writeIn(tx: Tx, now: Date, opts: { replaceWithinMs?: number; pageSize?: number }): Promise<{ rows: number; fleet: CoverageSnapshotRow }> {
  const acc = new CoverageAccumulator();
  for await (const page of cursorPages<ContainerVerdictsRow>(tx, containerVerdictsQuery(), opts.pageSize ?? PAGE)) for (const r of page) acc.add(toContainerVerdicts(r));
  const coverage = acc.rows();
  // why the fleet's stale containers are stale, from the same rows as its figures (the overview's card)
  const groups = acc.staleGroups(now);
  const db = tx as unknown as Db;
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

/** Rows per page of the snapshot's cursor. */
const PAGE = 5000;
