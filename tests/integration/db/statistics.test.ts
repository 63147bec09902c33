import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@/lib/db/client";
import { INVENTORY_TABLES, refreshPlannerStatistics } from "@/lib/db/statistics";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";

/**
 * A scan ANALYZEs the inventory tables it wrote when the planner has no statistics of them or they
 * more than doubled (ADR 0019: without statistics the evaluation's read of each batch's containers
 * joined every live pod and workload): only then, so that a rescan pays nothing for it.
 */
describe("planner statistics of the inventory tables", () => {
  let tdb: TestDatabase;
  let db: Db;

  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = createDb(tdb.url, 2);
    // what is analyzed when is this test's to say, not autovacuum's
    for (const t of INVENTORY_TABLES) await db.$executeRawUnsafe(`ALTER TABLE "${t}" SET (autovacuum_enabled = false)`);
  }, 60_000);
  afterAll(async () => {
    await db?.$disconnect();
    await tdb?.drop();
  });

  /** Pods with one container each (bare pods: each its own workload), in one namespace of one cluster. */
  const addPods = async (n: number, from: number) => {
    const cluster = await db.cluster.upsert({ where: { name: "c" }, create: { name: "c" }, update: {}, select: { id: true } });
    const ns = await db.namespace.upsert({ where: { clusterId_name: { clusterId: cluster.id, name: "prod" } }, create: { clusterId: cluster.id, name: "prod" }, update: {}, select: { id: true } });
    await db.$executeRaw`
      WITH wl AS (INSERT INTO "Workload" (id, "clusterId", "namespaceId", kind, name)
                  SELECT gen_random_uuid(), ${cluster.id}::uuid, ${ns.id}::uuid, 'Pod', 'p-' || g FROM generate_series(${from}::int, ${from + n - 1}::int) g RETURNING id, name),
      pods AS (INSERT INTO "Pod" (id, "clusterId", "namespaceId", "workloadId", uid, name)
               SELECT gen_random_uuid(), ${cluster.id}::uuid, ${ns.id}::uuid, wl.id, wl.name, wl.name FROM wl RETURNING id)
      INSERT INTO "Container" (id, "podId", kind, name, "imageRef", "digestSource")
      SELECT gen_random_uuid(), pods.id, 'app', 'app', 'ghcr.io/acme/app:v1', 'unknown' FROM pods`;
  };
  const manualAnalyses = async () =>
    Object.fromEntries(
      (await db.$queryRaw<{ name: string; n: number }[]>`SELECT relname AS name, analyze_count::int AS n FROM pg_stat_user_tables WHERE relname = ANY(${[...INVENTORY_TABLES]}::text[])`).map((r) => [r.name, r.n]),
    );

  it("analyzes tables without statistics, then only those that more than doubled", async () => {
    await addPods(500, 0);
    expect((await refreshPlannerStatistics(db)).sort()).toEqual(["Container", "Namespace", "Pod", "Workload"]);
    const [stats] = await db.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM pg_stats WHERE tablename = 'Pod' AND attname = 'deletedAt'`;
    expect(stats!.n).toBe(1);
    expect(await manualAnalyses()).toEqual({ Namespace: 1, Workload: 1, Pod: 1, Container: 1 });

    // a few more rows: statistics still describe the tables (the planner scales sizes itself)
    await addPods(100, 500);
    expect(await refreshPlannerStatistics(db)).toEqual([]);

    // more than doubled: analyzed again (the namespace did not grow: it has its statistics)
    await addPods(3000, 600);
    expect((await refreshPlannerStatistics(db)).sort()).toEqual(["Container", "Pod", "Workload"]);
    expect(await manualAnalyses()).toEqual({ Namespace: 1, Workload: 2, Pod: 2, Container: 2 });
  });
});
