import "server-only";
import { getShippedMigrationStatus } from "@/lib/db/migrate";
import type { Db } from "@/lib/db/client";

export interface HealthReport {
  status: "ok" | "unhealthy";
  checks: {
    database: { ok: boolean; detail: string };
    migrations: { ok: boolean; detail: string; applied?: number; pending?: string[] };
    worker: { ok: boolean; detail: string; workers?: number; lastBeatSecondsAgo?: number | null };
  };
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    p,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms).unref()),
  ]);
}

/** What anyone may see of a report: the verdicts, without counts, names or error text. */
export interface PublicHealthReport {
  status: HealthReport["status"];
  checks: Record<keyof HealthReport["checks"], { ok: boolean }>;
}

export function publicHealth(report: HealthReport): PublicHealthReport {
  const { database, migrations, worker } = report.checks;
  return { status: report.status, checks: { database: { ok: database.ok }, migrations: { ok: migrations.ok }, worker: { ok: worker.ok } } };
}

/** When this process started: a worker counts as alive only once it has beaten since then. */
export function processStartedAt(): Date {
  return new Date(Date.now() - process.uptime() * 1000);
}

/**
 * Database reachable, no pending or failed migration, and at least one worker beat recently — and,
 * with `workersSince`, at or after that time: after a restart the heartbeat of the stopped worker is
 * still recent, but only a worker that beats after the web server started is known to run.
 */
export async function checkHealth(db: Db, opts: { staleSeconds: number; timeoutMs?: number; workersSince?: Date }): Promise<HealthReport> {
  const timeoutMs = opts.timeoutMs ?? 3000;
  const report: HealthReport = {
    status: "ok",
    checks: {
      database: { ok: false, detail: "not checked" },
      migrations: { ok: false, detail: "not checked" },
      worker: { ok: false, detail: "not checked" },
    },
  };
  try {
    await withTimeout(db.$queryRaw`SELECT 1`, timeoutMs, "database query");
    report.checks.database = { ok: true, detail: "reachable" };
  } catch (err) {
    report.checks.database = { ok: false, detail: `unreachable: ${(err as Error).message.split("\n")[0]}` };
    report.checks.migrations = { ok: false, detail: "database unreachable" };
    report.checks.worker = { ok: false, detail: "database unreachable" };
    report.status = "unhealthy";
    return report;
  }
  // the migration status and the heartbeats are independent reads: one round trip's wait, not two
  await Promise.all([
    (async () => {
      try {
        const status = await withTimeout(
          getShippedMigrationStatus({ query: async (sql: string) => ({ rows: await db.$queryRawUnsafe(sql) }) }),
          timeoutMs,
          "migration status",
        );
        const ok = status.pending.length === 0 && status.failed.length === 0;
        report.checks.migrations = {
          ok,
          applied: status.applied.length,
          pending: status.pending,
          detail: ok
            ? `${status.applied.length} applied, none pending`
            : status.failed.length
              ? `failed: ${status.failed.join(", ")}`
              : `pending: ${status.pending.join(", ")}`,
        };
      } catch (err) {
        report.checks.migrations = { ok: false, detail: `cannot read migration status: ${(err as Error).message}` };
      }
    })(),
    (async () => {
      const since = opts.workersSince ?? new Date(0);
      try {
        const rows = await withTimeout(
          db.$queryRaw<{ workers: bigint; earlier: bigint; age: number | null }[]>`
            SELECT count(*) FILTER (WHERE "beatAt" > now() - make_interval(secs => ${opts.staleSeconds}) AND "beatAt" >= ${since}) AS workers,
                   count(*) FILTER (WHERE "beatAt" > now() - make_interval(secs => ${opts.staleSeconds}) AND "beatAt" < ${since}) AS earlier,
                   EXTRACT(EPOCH FROM now() - max("beatAt"))::float8 AS age
            FROM "WorkerHeartbeat"`,
          timeoutMs,
          "worker heartbeat",
        );
        const workers = Number(rows[0]?.workers ?? 0);
        const earlier = Number(rows[0]?.earlier ?? 0);
        const age = rows[0]?.age ?? null;
        report.checks.worker = {
          ok: workers > 0,
          workers,
          lastBeatSecondsAgo: age === null ? null : Math.round(age),
          detail:
            workers > 0
              ? `${workers} worker(s) alive`
              : age === null
                ? "no worker has ever reported"
                : earlier > 0
                  ? "no worker has reported since this web server started (the last heartbeat is from before)"
                : `no heartbeat for ${Math.round(age)} s (stale after ${opts.staleSeconds} s)`,
        };
      } catch (err) {
        report.checks.worker = { ok: false, detail: `cannot read heartbeats: ${(err as Error).message}` };
      }
    })(),
  ]);
  report.status = Object.values(report.checks).every((c) => c.ok) ? "ok" : "unhealthy";
  return report;
}
