import "server-only";
import { Gauge, Registry } from "prom-client";
import { BUCKETS, bucketCounts, coverageBase, coverageVerified } from "@/lib/coverage/compute";
import { getAuditChainStatus } from "@/lib/data/audit";
import { getDatabaseUrl, type Db } from "@/lib/db/client";
import { getReminders } from "@/lib/trust/load-reminders";

/** Namespace series are the worst-covered ones, at most this many (a fleet can have thousands of namespaces). */
export const MAX_NAMESPACE_SERIES = 200;

const CHAIN_EVERY_MS = 5 * 60_000;
let chainSeen: { at: number; status: Awaited<ReturnType<typeof getAuditChainStatus>> } | undefined;

/**
 * Metrics read from the database at scrape time (they describe the fleet, not one process), for the
 * web's /api/metrics: the latest coverage snapshot (fleet, each cluster, the MAX_NAMESPACE_SERIES
 * worst namespaces), job queues, verification errors by reason code, the audit chain, due reminders,
 * the last finished scan. Labels: cluster and namespace names (bounded as said), verdict, queue name,
 * job state, reason code, reminder severity — closed or bounded sets.
 */
export async function databaseMetrics(db: Db, now = new Date()): Promise<Registry> {
  const registry = new Registry();
  const gauge = (name: string, help: string, labelNames: string[] = []) => new Gauge({ name, help, labelNames, registers: [registry] });

  const latest = await db.coverageSnapshot.findFirst({ where: { scope: "fleet" }, orderBy: { takenAt: "desc" }, select: { takenAt: true } });
  const containers = gauge("signet_containers", "Running containers by overall verdict at the latest coverage snapshot (scope fleet or cluster)", ["scope", "cluster", "verdict"]);
  const coverage = gauge("signet_coverage_ratio", "Coverage at the latest coverage snapshot (0..1): verified share of the running containers a policy applies to, stale ones by their last known verdict and never-known ones as not verified (docs/decisions/0013); absent when no policy applies to any", ["scope", "cluster", "namespace"]);
  const snapshotAge = gauge("signet_coverage_snapshot_timestamp_seconds", "When the latest coverage snapshot was taken (Unix time)");
  if (latest) {
    snapshotAge.set(latest.takenAt.getTime() / 1000);
    const rows = await db.coverageSnapshot.findMany({ where: { takenAt: latest.takenAt, scope: { in: ["fleet", "cluster"] } }, include: { cluster: { select: { name: true } } } });
    for (const r of rows) {
      const cluster = r.scope === "fleet" ? "" : (r.cluster?.name ?? "(deleted)");
      const counts = bucketCounts(r);
      for (const v of BUCKETS) containers.set({ scope: r.scope, cluster, verdict: v }, counts[v]);
      const base = coverageBase(r);
      if (base > 0) coverage.set({ scope: r.scope, cluster, namespace: "" }, coverageVerified(r) / base);
    }
    const worst = await db.$queryRaw<{ cluster: string | null; namespace: string; ratio: number }[]>`
      SELECT c.name AS cluster, s.namespace, (s."containersVerified" + s."containersStaleVerified")::float / (s."containersTotal" - s."containersUnmatched") AS ratio
      FROM "CoverageSnapshot" s LEFT JOIN "Cluster" c ON c.id = s."clusterId"
      WHERE s."takenAt" = ${latest.takenAt} AND s.scope = 'namespace' AND s."containersTotal" - s."containersUnmatched" > 0
      ORDER BY ratio ASC, s."containersTotal" DESC LIMIT ${MAX_NAMESPACE_SERIES}`;
    for (const w of worst) coverage.set({ scope: "namespace", cluster: w.cluster ?? "(deleted)", namespace: w.namespace }, w.ratio);
  }

  const queue = gauge("signet_queue_jobs", "Jobs waiting or running in the PostgreSQL job queues (pg-boss), by queue and state", ["queue", "state"]);
  const oldest = gauge("signet_queue_oldest_job_age_seconds", "Age of the oldest job not yet completed, by queue", ["queue"]);
  const jobs = await db
    .$queryRaw<{ name: string; state: string; n: number; oldest: Date }[]>`
      SELECT name, state::text AS state, count(*)::int AS n, min(created_on) AS oldest FROM pgboss.job
      WHERE state IN ('created', 'retry', 'active') GROUP BY name, state`
    .catch(() => []); // the queues' schema exists once a worker or the web has started pg-boss
  const oldestByQueue = new Map<string, number>();
  for (const j of jobs) {
    queue.set({ queue: j.name, state: j.state }, j.n);
    const age = (now.getTime() - j.oldest.getTime()) / 1000;
    oldestByQueue.set(j.name, Math.max(oldestByQueue.get(j.name) ?? 0, age));
  }
  for (const [name, age] of oldestByQueue) oldest.set({ queue: name }, age);

  const errors = gauge("signet_verification_errors", "Current error verdicts of running containers, by reason code", ["reason"]);
  const reasons = await db.$queryRaw<{ reason: string; n: number }[]>`
    SELECT COALESCE(r->>'code', 'unknown') AS reason, count(*)::int AS n
    FROM "Verdict" v JOIN "Container" c ON c.id = v."containerId" JOIN "Pod" p ON p.id = c."podId" AND p."deletedAt" IS NULL
    CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(v.reasons) = 'array' THEN v.reasons ELSE '[]'::jsonb END) r
    WHERE v.value = 'error' GROUP BY 1 ORDER BY 2 DESC LIMIT 50`;
  for (const r of reasons) errors.set({ reason: r.reason }, r.n);

  // a walk of the whole log: at most once per CHAIN_EVERY_MS for scrapes (the audit page walks on demand)
  if (!chainSeen || now.getTime() - chainSeen.at > CHAIN_EVERY_MS) chainSeen = { at: now.getTime(), status: await getAuditChainStatus(db, getDatabaseUrl()) };
  const chain = chainSeen.status;
  gauge("signet_audit_chain_ok", "1 when the audit log's hash chain verifies, 0 when it is broken").set(chain.ok ? 1 : 0);
  gauge("signet_audit_events", "Audit events whose hash chain was checked").set(chain.checked);

  const due = gauge("signet_trust_reminders_due", "Trust reminders due (keys, trusted roots, certificates), by severity", ["severity"]);
  for (const r of await getReminders(db, { now })) due.inc({ severity: r.severity });

  const last = await db.scan.findFirst({ where: { finishedAt: { not: null }, kind: { not: "reevaluate" } }, orderBy: { finishedAt: "desc" } });
  const lastFinished = gauge("signet_last_scan_finished_timestamp_seconds", "When the last scan finished (Unix time), by its status", ["status"]);
  const lastDuration = gauge("signet_last_scan_duration_seconds", "Duration of the last finished scan");
  if (last?.finishedAt) {
    lastFinished.set({ status: last.status }, last.finishedAt.getTime() / 1000);
    lastDuration.set((last.finishedAt.getTime() - (last.startedAt ?? last.createdAt).getTime()) / 1000);
  }
  return registry;
}
