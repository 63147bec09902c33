import "server-only";
import { Prisma } from "@/lib/generated/prisma/client";

type Runner = {
  $queryRaw<T = unknown>(query: TemplateStringsArray | Prisma.Sql, ...values: unknown[]): Prisma.PrismaPromise<T>;
  $executeRaw(query: TemplateStringsArray | Prisma.Sql, ...values: unknown[]): Prisma.PrismaPromise<number>;
};

/** The tables a scan's inventory writes and its evaluations then read by joins (lib/scan/evaluate-image). */
export const INVENTORY_TABLES = ["Namespace", "Workload", "Pod", "Container"] as const;
type Table = (typeof INVENTORY_TABLES)[number];

/**
 * ANALYZEs those of `tables` the planner has no column statistics for yet, or that more than doubled
 * since they were last analyzed or vacuumed (their size then: `pg_class.relpages`, at least 8 pages).
 * Returns the tables analyzed.
 *
 * Autovacuum analyzes a table within a minute or so of it changing; a first scan writes 100,000 pods
 * and starts evaluating them at once. Without statistics the planner takes default selectivities
 * (`"deletedAt" IS NULL` of 0.5 %, a 250-image `ANY` of most containers) and joined every live pod
 * and workload for each batch of 250 images: at 100,000 pods the evaluation's container read cost
 * PostgreSQL ~14 CPU-s over a scan instead of ~1.5 (ADR 0019). Sizes alone need no ANALYZE (the
 * planner scales the rows it estimates by the pages a table has now), hence "doubled".
 */
export async function refreshPlannerStatistics(db: Runner, tables: readonly Table[] = INVENTORY_TABLES): Promise<string[]> {
  const stale = await db.$queryRaw<{ name: Table }[]>`
    SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.oid = ANY(${tables.map((t) => `"${t}"`)}::text[]::regclass[])
      AND (NOT EXISTS (SELECT 1 FROM pg_stats s WHERE s.schemaname = n.nspname AND s.tablename = c.relname)
           OR pg_relation_size(c.oid) > 2 * GREATEST(c.relpages, 8)::bigint * current_setting('block_size')::bigint)`;
  const names = stale.map((s) => s.name).filter((n): n is Table => (INVENTORY_TABLES as readonly string[]).includes(n));
  if (names.length) await db.$executeRaw(Prisma.raw(`ANALYZE ${names.map((n) => `"${n}"`).join(", ")}`));
  return names;
}
