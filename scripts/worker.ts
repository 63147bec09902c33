// Worker process entry: `npm start` runs it next to the web server; run it alone on more machines to
// scale verification (all workers share the Postgres queues).
import { getEnv, EnvError } from "@/lib/env";
import { getLogger } from "@/lib/log";
import { getCheckpointVerifiers } from "@/lib/audit/keys";
import { anchorAuditChain } from "@/lib/audit/store";
import { allJobs } from "@/lib/jobs/definitions";
import { startWorker } from "@/lib/jobs/worker";
import { IMAGE_BATCH_SIZE } from "@/lib/scan/pipeline";
import { checkDatabase, DatabaseUnavailableError } from "@/lib/db/preflight";
import { enableProcessMetrics, metricsRegistry } from "@/lib/metrics/process";
import { serveMetrics } from "@/lib/metrics/server";

const log = getLogger().child({ component: "worker" });

async function main() {
  const env = getEnv();
  if (!env.DATABASE_URL) throw new DatabaseUnavailableError("DATABASE_URL is not set (the launcher sets it; see README)");
  await checkDatabase(env.DATABASE_URL, env.SIGNET_DB_CONNECT_TIMEOUT_MS);
  const worker = await startWorker({
    databaseUrl: env.DATABASE_URL,
    jobs: allJobs,
    log,
    heartbeatSeconds: env.SIGNET_HEARTBEAT_SECONDS,
    concurrency: env.SIGNET_WORKER_CONCURRENCY,
    auditWitness: { dataDir: env.SIGNET_DATA_DIR, keys: getCheckpointVerifiers(env) },
    ...(env.SIGNET_WATCH
      ? { watch: { flushMs: env.SIGNET_WATCH_FLUSH_MS, revalidateSeconds: env.SIGNET_REVALIDATE_SECONDS, batchSize: env.SIGNET_SCAN_BATCH_SIZE ?? IMAGE_BATCH_SIZE, leaseSeconds: env.SIGNET_WATCH_LEASE_SECONDS, reconcileMinutes: env.SIGNET_WATCH_RECONCILE_MINUTES } }
      : {}),
  });
  // the first start after an upgrade or a secret-key rotation checkpoints the head (never over damage)
  await anchorAuditChain(worker.db).catch((err: unknown) => log.warn({ err }, "audit chain head not checkpointed"));
  let metrics: Awaited<ReturnType<typeof serveMetrics>> | undefined;
  if (env.SIGNET_METRICS_PORT !== undefined) {
    enableProcessMetrics();
    metrics = await serveMetrics(metricsRegistry, { port: env.SIGNET_METRICS_PORT, host: env.HOST, ...(env.SIGNET_METRICS_TOKEN ? { token: env.SIGNET_METRICS_TOKEN } : {}) });
    log.info({ port: metrics.port, host: env.HOST }, "serving Prometheus metrics at /metrics");
  }
  const shutdown = (signal: string) => {
    log.info({ signal }, "stopping worker");
    void metrics?.close();
    worker.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGTERM", () => shutdown("SIGTERM"));
  process.once("SIGINT", () => shutdown("SIGINT"));
}

main().catch((err: unknown) => {
  if (err instanceof EnvError || err instanceof DatabaseUnavailableError) {
    process.stderr.write(`signet worker: ${err.message}\n`);
  } else {
    log.fatal({ err }, "worker failed to start");
  }
  process.exit(1);
});
