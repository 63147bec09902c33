import "server-only";
import type { Db } from "@/lib/db/client";
import { CoverageAccumulator, FIGURE_KEYS, pickFigures, type Bucket, type CoverageFigures, type CoverageSnapshotRow } from "@/lib/coverage/compute";
import { Prisma } from "@/lib/generated/prisma/client";
import { insertRows, uuidList } from "@/lib/db/bulk";
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
 *
 * With the figures, it stores each running container's bucket (ContainerBucket: writeBuckets), the rows
 * the lists behind the counts read.
 *
 * Unless nothing it reads changed since the latest snapshot: then that snapshot's rows are written
 * again with this `takenAt` (a rescan with nothing changed does not read every container; ADR 0023).
 * "Nothing changed" is the database's word, not a guess: every transaction that changes a row the
 * snapshot reads leaves its id in CoverageInputChange (triggers), and the latest snapshot records the
 * visibility snapshot its rows were read under (`inputs`); when each recorded transaction is visible
 * in it, what it read is what a read now would see. Snapshot writers hold one advisory lock, so the
 * change rows they prune (those visible in the latest snapshot's) are visible in every later one.
 */
export async function writeCoverageSnapshot(
  db: Db,
  now = new Date(),
  opts: { replaceWithinMs?: number; pageSize?: number } = {},
): Promise<{ rows: number; fleet: CoverageSnapshotRow; reused: boolean }> {
  // an interactive transaction's client has no $transaction of its own
  if ("$transaction" in db) return withTransaction(db, (tx) => writeIn(tx, now, opts), { timeout: 120_000 });
  return writeIn(db as unknown as Tx, now, opts);
}

async function writeIn(tx: Tx, now: Date, opts: { replaceWithinMs?: number; pageSize?: number }): Promise<{ rows: number; fleet: CoverageSnapshotRow; reused: boolean }> {
  const db = tx as unknown as Db;
  // one writer at a time (see above: pruning the change log relies on it)
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext('coverage-snapshot'))`;
  const [latest] = await tx.$queryRaw<(CoverageFigures & { takenAt: Date; unchanged: boolean })[]>`
    SELECT "takenAt", ${FIGURES}, (inputs IS NOT NULL AND NOT EXISTS (
             SELECT 1 FROM "CoverageInputChange" ch WHERE NOT pg_visible_in_snapshot(ch.xid::text::xid8, s.inputs::pg_snapshot))) AS unchanged
    FROM "CoverageSnapshot" s WHERE scope = 'fleet' ORDER BY "takenAt" DESC LIMIT 1`;
  // a refresh between scans replaces the snapshot of its time bucket: charts keep one point per bucket
  const bucket = opts.replaceWithinMs ? new Date(Math.floor(now.getTime() / opts.replaceWithinMs) * opts.replaceWithinMs) : null;
  let rows: number;
  let fleet: CoverageSnapshotRow;
  if (latest?.unchanged) {
    // every scope's row of the latest snapshot again, at `now` (one statement: the rows do not travel;
    // the statement's DELETE and SELECT both see the rows as they were before it); the stored buckets
    // are the latest snapshot's, still true
    rows = await tx.$executeRaw`
      WITH source AS (SELECT * FROM "CoverageSnapshot" WHERE "takenAt" = ${latest.takenAt}),
           replaced AS (DELETE FROM "CoverageSnapshot" WHERE ${bucket !== null} AND "takenAt" >= ${bucket ?? now} AND "takenAt" <= ${now})
      INSERT INTO "CoverageSnapshot" (id, "takenAt", scope, "clusterId", namespace, ${FIGURES}, "staleGroups", inputs)
      SELECT gen_random_uuid(), ${now}, scope, "clusterId", namespace, ${FIGURES}, "staleGroups", inputs FROM source`;
    fleet = { scope: "fleet", cluster: null, namespace: null, ...pickFigures(latest) };
  } else {
    // taken before the cursor's own: a change committed between the two is then "not seen" (the next
    // snapshot reads again), never "seen" when it was not
    const [taken] = await tx.$queryRaw<{ inputs: string }[]>`SELECT pg_current_snapshot()::text AS inputs`;
    const acc = new CoverageAccumulator();
    // in the order of the ids, so that each page also says which stored buckets are gone (writeBuckets)
    let after: string | null = null;
    for await (const page of cursorPages<ContainerVerdictsRow>(tx, containerVerdictsQuery({ orderById: true }), opts.pageSize ?? PAGE)) {
      const states = page.map((r) => acc.add(toContainerVerdicts(r)));
      after = await writeBuckets(tx, after, page, states);
    }
    // past the last container read: none runs now
    await tx.$executeRaw`DELETE FROM "ContainerBucket" WHERE ${after}::uuid IS NULL OR "containerId" > ${after}::uuid`;
    const coverage = acc.rows();
    // why the fleet's stale containers are stale, from the same rows as its figures (the overview's card)
    const groups = acc.staleGroups(now);
    const clusters = new Map((await db.cluster.findMany({ select: { id: true, name: true } })).map((c) => [c.name, c.id]));
    const data = coverage.map(({ scope, cluster, namespace, ...figures }) => ({
      takenAt: now,
      scope,
      clusterId: cluster ? (clusters.get(cluster) ?? null) : null,
      namespace,
      ...figures,
      staleGroups: scope === "fleet" ? groups : [],
      inputs: scope === "fleet" ? taken!.inputs : null,
    }));
    if (bucket) await db.coverageSnapshot.deleteMany({ where: { takenAt: { gte: bucket, lte: now } } });
    rows = await insertRows(tx, "CoverageSnapshot", SNAPSHOT_COLUMNS, data);
    fleet = coverage[0]!;
  }
  // the changes the latest snapshot has seen are of no further use
  await tx.$executeRaw`
    DELETE FROM "CoverageInputChange" ch
    WHERE pg_visible_in_snapshot(ch.xid::text::xid8, (SELECT inputs::pg_snapshot FROM "CoverageSnapshot" WHERE scope = 'fleet' ORDER BY "takenAt" DESC LIMIT 1))`;
  return { rows, fleet, reused: Boolean(latest?.unchanged) };
}

/**
 * Stores the buckets of one page of the snapshot's rows (in the order of their ids, after the id
 * `after`): each running container's bucket, cluster and namespace (and a stale one's reason) as this snapshot counts it — only the
 * rows that differ from the stored ones are written, so a snapshot of an unchanged fleet writes none —
 * and drops the stored rows of containers in the page's range of ids that it did not read (no longer
 * running). Returns the page's last id. The containers list behind a count reads these rows
 * (lib/data/drilldown listContainersInBuckets): what a count counts is what its list lists (ADR 0026).
 */
async function writeBuckets(tx: Tx, after: string | null, page: ContainerVerdictsRow[], states: ReadonlyArray<{ bucket: Bucket; staleReason: string | null }>): Promise<string | null> {
  const last = page.at(-1);
  if (!last) return after;
  await tx.$executeRaw`
    WITH page AS (
      SELECT u."containerId", u.bucket, u."clusterId", u."namespaceId", md5(u.reason) AS "staleReasonKey"
      -- (ids and bucket names as comma-separated texts: one string each through Prisma's parameter
      -- handling instead of 5,000 elements copied at each of its steps; folded into the same arrays)
      FROM unnest(string_to_array(${uuidList(page.map((r) => r.id))}, ',')::uuid[], string_to_array(${states.map((s) => s.bucket).join(",")}, ',')::"CoverageBucket"[],
                  string_to_array(${uuidList(page.map((r) => r.clusterId))}, ',')::uuid[], string_to_array(${uuidList(page.map((r) => r.namespaceId))}, ',')::uuid[],
                  ${states.map((s) => s.staleReason)}::text[])
        AS u("containerId", bucket, "clusterId", "namespaceId", reason)
    ), gone AS (
      DELETE FROM "ContainerBucket" b
      WHERE (${after}::uuid IS NULL OR b."containerId" > ${after}::uuid) AND b."containerId" <= ${last.id}::uuid
        AND NOT EXISTS (SELECT 1 FROM page WHERE page."containerId" = b."containerId")
    )
    INSERT INTO "ContainerBucket" ("containerId", bucket, "clusterId", "namespaceId", "staleReasonKey")
    SELECT page.* FROM page
    -- the stored rows of the page's range only: unbounded, the join read the table from its first id
    -- for every page (the snapshot's pages quadratic in the fleet)
    LEFT JOIN (SELECT * FROM "ContainerBucket" WHERE "containerId" > COALESCE(${after}::uuid, '00000000-0000-0000-0000-000000000000'::uuid)
                 AND "containerId" <= ${last.id}::uuid) b ON b."containerId" = page."containerId"
    WHERE (b.bucket, b."clusterId", b."namespaceId", b."staleReasonKey") IS DISTINCT FROM (page.bucket, page."clusterId", page."namespaceId", page."staleReasonKey")
    ON CONFLICT ("containerId") DO UPDATE SET bucket = EXCLUDED.bucket, "clusterId" = EXCLUDED."clusterId", "namespaceId" = EXCLUDED."namespaceId",
      "staleReasonKey" = EXCLUDED."staleReasonKey"`;
  return last.id;
}

const FIGURES = Prisma.raw(FIGURE_KEYS.map((k) => `"${k}"`).join(", "));
const SNAPSHOT_COLUMNS = ["takenAt", "scope", "clusterId", "namespace", ...FIGURE_KEYS, "staleGroups", "inputs"];

/** Rows per page of the snapshot's cursor. */
const PAGE = 5000;
