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
  watch?: { flushMs: number; revalidateSeconds: number; batchSize: number; leaseSeconds: number; reconcileMinutes?: number };
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
  // this process's pg-boss workers per queue: follow-up work is announced to them at once (other
  // processes are woken by the queue's NOTIFY, or find it on their next poll)
  const local = new Map<string, string[]>();
  let turn = 0;
  const timers = new Set<NodeJS.Timeout>();
  /** Wakes a slot of `queue` now, or once `afterMs` has passed (a job that may not start before). */
  const wake = (queue: string, slot?: number, afterMs = 0) => {
    const slots = local.get(queue);
    if (!slots?.length) return;
    const id = slots[(slot ?? turn++) % slots.length]!;
    if (afterMs <= 0) return boss.notifyWorker(id);
    const t = setTimeout(() => {
      timers.delete(t);
      boss.notifyWorker(id);
    }, afterMs);
    t.unref();
    timers.add(t);
  };
  const enqueue: JobContext["enqueue"] = async (job, payload) => {
    const id = await sendJob(boss, job, payload);
    // one slot per job sent, in turn (a busy slot fetches again as soon as it is done anyway); a
    // debounced job when it may start (a NOTIFY is only sent for a job that may start at once)
    if (id) wake(job.name, undefined, (job.startAfterSeconds ?? 0) * 1000 + (job.startAfterSeconds ? 100 : 0));
    return id;
  };
  const enqueueMany: JobContext["enqueueMany"] = async (job, payloads) => {
    const n = await sendJobs(boss, job, payloads);
    for (let i = 0; i < Math.min(n, local.get(job.name)?.length ?? 0); i++) wake(job.name, undefined, (job.startAfterSeconds ?? 0) * 1000 + (job.startAfterSeconds ? 100 : 0));
    return n;
  };

  for (const job of opts.jobs) {
    // One pg-boss worker per slot (localConcurrency 1 each), so that a slot that just finished a job
    // can wake itself: pg-boss otherwise waits out the polling interval after every job of a batch of
    // one, which capped a slot at two jobs a second however short the jobs were. A slot whose fetch
    // comes back empty falls back to polling.
    //
    // Polling is the backstop, not the way work is found (docs/decisions/0020-idle-worker.md): every
    // queue NOTIFYs its listeners when a job that may start at once is sent, and this process wakes
    // its own slots for what it sends (and for a debounced job when it may start). So only a queue's
    // first slot polls, every 30 s (every 2 s when LISTEN is unavailable, e.g. behind a pooler in
    // transaction mode), and the others every 2 minutes; a slot that fetched a job wakes the next
    // one, so a backlog found by a poll spreads over every slot within as many fetches. A retry comes
    // back within its delay on this process (it wakes a slot then) and within 30 s on any other. An
    // idle worker polled 78 times a second before this (10 queues, up to 8 slots each, every 0.5 s).
    const slots = job.concurrency ?? opts.concurrency;
    for (let slot = 0; slot < slots; slot++) {
      let workerId: string | undefined = undefined;
      workerId = await boss.work<unknown>(
        job.name,
        slot === 0
          ? { localConcurrency: 1, batchSize: 1, pollingIntervalSeconds: 2, notifyPollingIntervalSeconds: 30 }
          : { localConcurrency: 1, batchSize: 1, pollingIntervalSeconds: 30, notifyPollingIntervalSeconds: 120 },
        async ([raw]) => {
          if (!raw) return;
          // fetch the next job right after this one (see above), and let the next slot look too
          if (workerId) boss.notifyWorker(workerId);
          if (slot + 1 < slots) wake(job.name, slot + 1);
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
            // its retry: a slot of this process looks once the retry may start — pg-boss waits
            // retryDelay × 2^(n+1) / 2 × (1 + random) with backoff (n: retries so far), so by the upper bound
            const q = job.queue;
            const retries = (raw as { retryCount?: number }).retryCount ?? 0;
            if ((q?.retryLimit ?? 2) > retries) {
              const base = q?.retryDelay || (q?.retryBackoff ? 1 : 0);
              const delay = q?.retryBackoff ? Math.min(q.retryDelayMax ?? Infinity, base * 2 ** Math.min(16, retries + 1)) : base;
              wake(job.name, 0, delay * 1000 + 200);
            }
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
        ...(opts.watch.reconcileMinutes !== undefined ? { reconcileMs: opts.watch.reconcileMinutes * 60_000 } : {}),
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
      for (const t of timers) clearTimeout(t);
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
