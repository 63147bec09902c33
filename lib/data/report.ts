import "server-only";
import { Prisma } from "@/lib/generated/prisma/client";
import { computeCoverage, type ContainerVerdicts, type DefiniteVerdict, type Verdict } from "@/lib/coverage/compute";
import { buildComplianceReport } from "@/lib/data/exports";
import type { Db } from "@/lib/db/client";
import { makeReport, type PipelineReport } from "@/lib/report/pipeline";

export interface PipelineQuery {
  cluster?: string;
  /** Several clusters (those a live scan covered); with `cluster`, only that one. */
  clusters?: string[];
  namespace?: string;
  policy?: string;
  /** Minimum coverage in percent; below it the report does not pass. */
  threshold?: number;
}

/**
 * Every running container in scope with the latest verdict of each policy (optionally one policy's),
 * its last known values and whether its cluster could be listed: the rows coverage is computed from
 * (lib/coverage/compute) — by the coverage snapshots, the pipeline report and the auditor's report alike.
 */
export async function loadContainerVerdicts(db: Db, q: ContainerVerdictsScope = {}): Promise<ContainerVerdicts[]> {
  return (await db.$queryRaw<ContainerVerdictsRow[]>(containerVerdictsQuery(q))).map(toContainerVerdicts);
}

export interface ContainerVerdictsScope {
  cluster?: string;
  clusters?: string[];
  namespace?: string;
  policy?: string;
  /** In the order of the containers' ids (the primary key): for reading the rows in pages of a stable order. */
  orderById?: boolean;
}

/** A row of containerVerdictsQuery (toContainerVerdicts makes it a ContainerVerdicts). */
export interface ContainerVerdictsRow {
  id: string;
  cluster: string;
  clusterId: string;
  namespaceId: string;
  clusterStale: boolean;
  clusterError: string | null;
  clusterErrorAt: number | null;
  namespace: string;
  digest: string | null;
  verdicts: string[];
  known: (string | null)[];
  errorReasons: (string | null)[];
  errorSince: (number | null)[];
}

/**
 * The query of loadContainerVerdicts, for reading it in pages too (a coverage snapshot: lib/scan/snapshot.ts).
 * A column added here must be watched by the coverage triggers (migration 20261207130000, ADR 0023): a
 * snapshot is copied, not read again, while none of the columns they watch changed.
 */
export function containerVerdictsQuery(q: ContainerVerdictsScope = {}): Prisma.Sql {
  return Prisma.sql`
    SELECT c.id, cl.name AS cluster, cl.id AS "clusterId", n.id AS "namespaceId", (cl."lastError" IS NOT NULL) AS "clusterStale", cl."lastError" AS "clusterError",
           (extract(epoch FROM cl."lastErrorAt") * 1000)::float8 AS "clusterErrorAt", n.name AS namespace, c.digest,
           COALESCE(array_agg(v.value::text ORDER BY v.id) FILTER (WHERE v.value IS NOT NULL), '{}') AS verdicts,
           COALESCE(array_agg(v."lastKnownValue"::text ORDER BY v.id) FILTER (WHERE v.value IS NOT NULL), '{}') AS known,
           COALESCE(array_agg(CASE WHEN v.value = 'error' THEN v.reasons->0->>'message' END ORDER BY v.id) FILTER (WHERE v.value IS NOT NULL), '{}') AS "errorReasons",
           COALESCE(array_agg(CASE WHEN v.value = 'error' THEN (extract(epoch FROM v."changedAt") * 1000)::float8 END ORDER BY v.id) FILTER (WHERE v.value IS NOT NULL), '{}') AS "errorSince"
    FROM "Container" c
    JOIN "Pod" p ON p.id = c."podId" AND p."deletedAt" IS NULL
    JOIN "Namespace" n ON n.id = p."namespaceId"
    JOIN "Cluster" cl ON cl.id = p."clusterId"
    LEFT JOIN "Verdict" v ON v."containerId" = c.id
      ${q.policy ? Prisma.sql`AND v."policyId" IN (SELECT id FROM "Policy" WHERE name = ${q.policy})` : Prisma.empty}
    WHERE TRUE
      ${q.cluster ? Prisma.sql`AND cl.name = ${q.cluster}` : Prisma.empty}
      ${q.clusters ? Prisma.sql`AND cl.name = ANY(${q.clusters}::text[])` : Prisma.empty}
      ${q.namespace ? Prisma.sql`AND n.name = ${q.namespace}` : Prisma.empty}
    GROUP BY c.id, cl.id, cl.name, cl."lastError", cl."lastErrorAt", n.id, n.name, c.digest
    ${q.orderById ? Prisma.sql`ORDER BY c.id` : Prisma.empty}`;
}

export function toContainerVerdicts(r: ContainerVerdictsRow): ContainerVerdicts {
  return {
    containerId: r.id,
    cluster: r.cluster,
    namespace: r.namespace,
    digest: r.digest,
    verdicts: r.verdicts as Verdict[],
    lastKnown: r.known as (DefiniteVerdict | null)[],
    clusterStale: r.clusterStale,
    errorReasons: r.errorReasons,
    errorSince: r.errorSince,
    clusterError: r.clusterError === null ? null : { reason: r.clusterError, since: r.clusterErrorAt },
  };
}

/**
 * The pipeline report of a scope from the database: coverage over every running container in scope
 * (the overview's figures: a container without a known digest counts as error), or with a policy over
 * the containers that policy applies to, and the compliance export's rows for the same scope.
 */
export async function buildPipelineReport(db: Db, q: PipelineQuery, now = new Date()): Promise<PipelineReport> {
  let rows = await loadContainerVerdicts(db, q);
  // with a policy: the containers it applies to
  if (q.policy) rows = rows.filter((r) => r.verdicts.some((v) => v !== "unmatched"));
  const { scope: _scope, cluster: _cluster, namespace: _namespace, ...figures } = computeCoverage(rows)[0]!;
  const single = q.cluster ?? (q.clusters?.length === 1 ? q.clusters[0] : undefined);
  const compliance = await buildComplianceReport(db, { cluster: single, namespace: q.namespace, format: "json" }, now);
  const inClusters = q.clusters && !single ? new Set(q.clusters) : undefined;
  return makeReport({
    generatedAt: now.toISOString(),
    scope: { cluster: single ?? null, ...(inClusters ? { clusters: q.clusters } : {}), namespace: q.namespace ?? null, policy: q.policy ?? null },
    figures,
    rows: compliance.rows.filter((r) => (!q.policy || r.policy === q.policy) && (!inClusters || inClusters.has(r.cluster))),
    threshold: q.threshold ?? null,
  });
}
