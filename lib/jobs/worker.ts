import "server-only";
import os from "node:os";
import { randomUUID, type KeyObject } from "node:crypto";
import type { Logger } from "pino";
import type { PgBoss } from "pg-boss";
import { createWitnessTick } from "@/lib/audit/witness-tick";
import { createDb, createScanDb, type Db } from "@/lib/db/client";
import { createBoss, ensureQueues, sendJob, sendJobs } from "@/lib/jobs/boss";
import type { JobContext, JobDefinition } from "@/lib/jobs/registry";
import { fenceLease, type LeaseGrant } from "@/lib/jobs/lease";
import { startWatchOwner, type ClusterWatchLifecycle, type WatchOwner } from "@/lib/jobs/watch-owner";
import { stopPodWatches } from "@/lib/kube/pod-watch";
import { getScanAdapters, listClusterTargets } from "@/lib/scan/real-adapters";
import { WatchManager } from "@/lib/watch/manager";

export interface WorkerOptions {
  databaseUrl: string;
  jobs: JobDefinition[];
  log: Logger;
  heartbeatSeconds: number;
  concurrency: number;
  /** Keeps the local audit witness in this directory (SIGNET_DATA_DIR), advanced on every heartbeat. */
  auditWitness?: { dataDir: string; keys: ReadonlyMap<string, KeyObject> };
  /**
   * Follow clusters with watches between scans (lib/watch). Each cluster is followed by one worker at a
   * time, the one holding its watch lease (lib/jobs/watch-owner.ts, docs/decisions/0017): this worker
   * starts a cluster's watch when it gains the lease and stops it when it loses it.
   */
  watch?: { flushMs: number; revalidateSeconds: number; batchSize: number; leaseSeconds: number };
}

export interface RunningWorker {
  id: string;
  boss: PgBoss;
  db: Db;
  /** The clusters this worker follows (with `watch`): start(target) / stop(name). */
  watches?: WatchManager;
  /** The watch-lease loop, when `watches` was given. */
  watchOwner?: WatchOwner;
  stop(): Promise<void>;
}

/**
 * Starts pg-boss workers for every registered job and a heartbeat row that /api/health reads.
 * Several workers on several machines share the queues; pg-boss hands each job to one of them.
 */
export async function startWorker(opts: WorkerOptions): Promise<RunningWorker> {
  const id = `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const log = opts.log.child({ worker: id });
  // Job transactions commit asynchronously (synchronous_commit=off): a database crash can lose the
  // last fraction of a second of commits, never half of one, and every handler is idempotent, so the
  // job whose commit was lost simply runs again (its verdicts and audit events commit together, the
  // chain stays whole). A scan then waits on the disk once per WAL flush, not once per batch.
  const db = createScanDb(opts.databaseUrl, opts.concurrency, { asyncCommit: true });
  const boss = createBoss(opts.databaseUrl, { supervise: true, schedule: true, max: Math.max(4, opts.concurrency + 2), listen: true });
  boss.on("error", (err) => log.error({ err }, "pg-boss error"));
  // e.g. LISTEN unavailable: pg-boss keeps polling
  boss.on("warning", (w) => log.info({ warning: w }, "pg-boss warning"));
  await boss.start();
  await ensureQueues(boss, opts.jobs);

  const abort = new AbortController();
  // this process's pg-boss workers per queue: follow-up work is announced to them at once, instead
  // of waiting for their next poll (other processes still find it by polling)
  const local = new Map<string, string[]>();
  let turn = 0;
  const enqueue: JobContext["enqueue"] = async (job, payload) => {
    const id = await sendJob(boss, job, payload);
    // one slot per job sent, in turn (a busy slot fetches again as soon as it is done anyway)
    const slots = local.get(job.name);
    if (id && slots?.length) boss.notifyWorker(slots[turn++ % slots.length]!);
    return id;
  };
  const enqueueMany: JobContext["enqueueMany"] = async (job, payloads) => {
    const n = await sendJobs(boss, job, payloads);
    const slots = local.get(job.name) ?? [];
    for (let i = 0; i < Math.min(n, slots.length); i++) boss.notifyWorker(slots[turn++ % slots.length]!);
    return n;
  };

  for (const job of opts.jobs) {
    // One pg-boss worker per slot (localConcurrency 1 each), so that a slot that just finished a job
    // can wake itself: pg-boss otherwise waits out the polling interval after every job of a batch of
    // one, which capped a slot at two jobs a second however short the jobs were. A slot whose fetch
    // comes back empty falls back to polling.
    const slots = job.concurrency ?? opts.concurrency;
    for (let slot = 0; slot < slots; slot++) {
      let workerId: string | undefined = undefined;
      workerId = await boss.work<unknown>(
        job.name,
        // notify queues wake a slot at once (LISTEN); polling remains, slower, as a backstop
        { localConcurrency: 1, batchSize: 1, pollingIntervalSeconds: 0.5, notifyPollingIntervalSeconds: 5 },
        async ([raw]) => {
          if (!raw) return;
          // fetch the next job right after this one (see above)
          if (workerId) boss.notifyWorker(workerId);
          const jobLog = log.child({ job: job.name, jobId: raw.id });
          const parsed = job.schema.safeParse(raw.data);
          if (!parsed.success) {
            // A payload that can never be valid is failed without retries piling up.
            jobLog.error({ issues: parsed.error.issues }, "invalid job payload");
            throw new Error(`invalid payload for ${job.name}: ${parsed.error.issues.map((i) => i.message).join("; ")}`);
          }
          const started = Date.now();
          try {
            const output = await job.handler(parsed.data, {
              jobId: raw.id,
              retryCount: (raw as { retryCount?: number }).retryCount ?? 0,
              db,
              log: jobLog,
              signal: abort.signal,
              enqueue,
              enqueueMany,
            });
            jobLog.debug({ ms: Date.now() - started }, "job done");
            return output;
          } catch (err) {
            jobLog.warn({ err, ms: Date.now() - started }, "job failed");
            throw err;
          }
        },
      );
      local.set(job.name, [...(local.get(job.name) ?? []), workerId]);
    }
  }

  for (const job of opts.jobs) {
    if (job.cron) await boss.schedule(job.name, job.cron, {}, { tz: "UTC" });
  }

  const watches = opts.watch
    ? new WatchManager({
        db,
        log: log.child({ component: "watch" }),
        enqueue,
        enqueueMany,
        adapters: getScanAdapters,
        flushMs: opts.watch.flushMs,
        revalidateSeconds: opts.watch.revalidateSeconds,
        batchSize: opts.watch.batchSize,
      })
    : undefined;
  // one worker at a time follows each configured cluster: the one holding its lease (leases on a
  // small client of their own: a scan saturating the job pool must not delay a renewal)
  const leaseDb = watches ? createDb(opts.databaseUrl, 2) : undefined;
  const watchOwner =
    watches && leaseDb && opts.watch
      ? startWatchOwner({
          db: leaseDb,
          holder: id,
          log,
          clusters: configuredClusters(),
          lifecycle: followWithManager(watches, log),
          ttlMs: opts.watch.leaseSeconds * 1000,
        })
      : undefined;


  const startedAt = new Date();
  const witnessTick = opts.auditWitness
    ? createWitnessTick({ db, dataDir: opts.auditWitness.dataDir, databaseUrl: opts.databaseUrl, keys: opts.auditWitness.keys, log })
    : undefined;
  const beat = async () => {
    await witnessTick?.();
    try {
      await db.workerHeartbeat.upsert({
        where: { id },
        create: { id, hostname: os.hostname(), pid: process.pid, startedAt, beatAt: new Date() },
        update: { beatAt: new Date() },
      });
    } catch (err) {
      log.warn({ err }, "heartbeat failed");
    }
  };
  await beat();
  const timer = setInterval(beat, opts.heartbeatSeconds * 1000);
  timer.unref();
  log.info({ jobs: opts.jobs.map((j) => j.name) }, "worker started");

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      clearInterval(timer);
      abort.abort();
      // leases released first: another worker takes the clusters' watches over at once
      await watchOwner?.stop().catch((err: unknown) => log.warn({ err }, "watch leases not released"));
      await leaseDb?.$disconnect();
      await watches?.stopAll();
      stopPodWatches();
      await boss.stop({ graceful: true, timeout: 10_000 }).catch((err) => log.warn({ err }, "pg-boss stop"));
      await db.workerHeartbeat.delete({ where: { id } }).catch(() => undefined);
      await db.$disconnect();
      log.info("worker stopped");
    })();
    return stopping;
  };
  return { id, boss, db, ...(watches ? { watches } : {}), ...(watchOwner ? { watchOwner } : {}), stop };
}

/**
 * The lease loop's view of the WatchManager: a gained lease starts following the cluster (in the
 * background: listing a large cluster must not hold up renewals), a watch whose start failed is
 * started again on the next tick, a lost lease stops it (its unwritten changes are the next owner's).
 */
function followWithManager(watches: WatchManager, log: Logger): ClusterWatchLifecycle {
  const start = (cluster: string, grant: LeaseGrant) => {
    const target = listClusterTargets().find((t) => t.name === cluster);
    if (!target) return;
    void watches.start(target, { fence: (tx) => fenceLease(tx, grant) }).catch((err: unknown) => log.warn({ cluster, err: (err as Error).message }, "cluster watch not started; retried on the next lease tick"));
  };
  return {
    start,
    ensure: (cluster, grant) => {
      if (!watches.watchOf(cluster)) start(cluster, grant);
    },
    stop: (cluster) => watches.stop(cluster),
  };
}

/** The configured clusters' names, read again at most every 30 s (the lease loop asks every few seconds). */
function configuredClusters(): () => string[] {
  let cached: { at: number; names: string[] } | undefined;
  return () => {
    if (!cached || Date.now() - cached.at > 30_000) cached = { at: Date.now(), names: listClusterTargets().map((t) => t.name) };
    return cached.names;
  };
}
