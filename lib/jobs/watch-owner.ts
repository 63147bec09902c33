import "server-only";
import type { Logger } from "pino";
import type { Db } from "@/lib/db/client";
import { releaseLease, renewLease, tryAcquireLease, type LeaseGrant } from "@/lib/jobs/lease";

/**
 * What a worker does with a cluster's watch as it gains and loses the cluster's lease. `start` is
 * called once per grant; `stop` once when that grant ends (lost, released, the cluster gone from the
 * configuration). `ensure`, when given, is called on every tick for each held cluster (restart a
 * watch that ended). Errors are logged; the lease stays held.
 */
export interface ClusterWatchLifecycle {
  start(cluster: string, grant: LeaseGrant): Promise<void> | void;
  stop(cluster: string, why: string): Promise<void> | void;
  ensure?(cluster: string, grant: LeaseGrant): Promise<void> | void;
}

export interface WatchOwnerOptions {
  /** A client of its own (a busy scan pool must not delay renewals): lib/db/client createDb(url, 2). */
  db: Db;
  /** This worker's id (lib/jobs/worker.ts). */
  holder: string;
  log: Logger;
  /** The clusters this worker can watch (its configuration), by name. */
  clusters: () => Promise<string[]> | string[];
  lifecycle: ClusterWatchLifecycle;
  /** How long a lease lasts without renewal (SIGNET_WATCH_LEASE_SECONDS). Renewals and tries come every third of it. */
  ttlMs: number;
}

export interface WatchOwner {
  /** The grant this worker holds for the cluster, if any (and it is still valid by the local clock). */
  owns(cluster: string): LeaseGrant | undefined;
  /** Clusters held now. */
  held(): string[];
  /** One pass now (tests; the loop runs on its own). */
  tick(): Promise<void>;
  /** Stops every watch and releases every lease (a clean shutdown: others take over at once). */
  stop(): Promise<void>;
}

interface Held {
  grant: LeaseGrant;
  /** performance.now() until which the lease is certainly still ours (see renew). */
  validUntil: number;
  /** Fires at validUntil: the watch stops then even while the loop waits on a hanging statement. */
  deadline: NodeJS.Timeout;
}

/**
 * The lease loop of one worker. Every ttl/3: renew each held lease; a lease whose renewal did not
 * succeed before its local deadline is treated as lost and its watch stopped (by a timer, whatever
 * the loop is waiting on) — the local deadline is measured from when the last successful renewal was
 * *sent*, minus a margin, so it always falls before the database-side expiry another worker waits for
 * (a partitioned worker stops first). Then try
 * every configured cluster not held: nobody's, expired (takeover) or released. A worker already
 * holding k leases waits k seconds (up to 3) past the expiry before taking one, so that leases
 * spread over idle workers first.
 *
 * Takeover time after the holder dies: at most ttl (expiry from its last renewal) + 3 s (grace) +
 * ttl/3 (the next try) — 23 s with the default 15 s lease.
 */
export function startWatchOwner(opts: WatchOwnerOptions): WatchOwner {
  const { db, holder, log, lifecycle } = opts;
  const ttl = opts.ttlMs;
  const every = Math.max(200, Math.floor(ttl / 3));
  // the margin covers the statement's own time on the server before `now()` is taken, and timer lag
  const margin = Math.min(2000, Math.floor(ttl / 5));
  const held = new Map<string, Held>();
  let stopped = false;
  let running: Promise<void> | undefined;

  const within = <T>(p: Promise<T>, ms: number): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no answer from the database within ${ms} ms`)), ms);
      p.then(
        (v) => (clearTimeout(t), resolve(v)),
        (e: unknown) => (clearTimeout(t), reject(e as Error)),
      );
    });

  const lose = async (cluster: string, why: string) => {
    const h = held.get(cluster);
    if (!h) return;
    held.delete(cluster);
    clearTimeout(h.deadline);
    (stopped ? log.info.bind(log) : log.warn.bind(log))({ cluster, token: String(h.grant.token), why }, "cluster watch lease ended; watch stopped");
    try {
      await lifecycle.stop(cluster, why);
    } catch (err) {
      log.error({ err, cluster }, "stopping the cluster watch failed");
    }
  };

  const keepUntil = (cluster: string, grant: LeaseGrant, validUntil: number): void => {
    const prev = held.get(cluster);
    if (prev) clearTimeout(prev.deadline);
    const deadline = setTimeout(() => void lose(cluster, "not renewed in time"), Math.max(0, validUntil - performance.now()));
    deadline.unref();
    held.set(cluster, { grant, validUntil, deadline });
  };

  const pass = async () => {
    // 1. renew what we hold
    for (const [cluster, h] of [...held]) {
      const sentAt = performance.now();
      try {
        const ok = await within(renewLease(db, h.grant, ttl), every);
        if (!ok) await lose(cluster, "taken over or expired");
        else if (held.get(cluster) === h) keepUntil(cluster, h.grant, sentAt + ttl - margin);
      } catch (err) {
        log.warn({ err, cluster }, "lease renewal failed; retrying until the lease runs out");
      }
    }
    if (stopped) return;

    let configured: string[];
    try {
      configured = [...new Set(await opts.clusters())];
    } catch (err) {
      log.warn({ err }, "could not list the configured clusters");
      return;
    }
    // 2. clusters no longer configured here: give them up
    for (const [cluster, h] of [...held]) {
      if (configured.includes(cluster)) continue;
      await lose(cluster, "no longer configured");
      await releaseLease(db, h.grant).catch(() => undefined);
    }
    // 3. take what nobody holds
    for (const cluster of configured) {
      if (stopped) return;
      const h = held.get(cluster);
      if (h) {
        try {
          await lifecycle.ensure?.(cluster, h.grant);
        } catch (err) {
          log.warn({ err, cluster }, "cluster watch check failed");
        }
        continue;
      }
      const sentAt = performance.now();
      let grant: LeaseGrant | null;
      try {
        grant = await within(tryAcquireLease(db, cluster, holder, ttl, Math.min(held.size, 3) * 1000), every);
      } catch (err) {
        log.warn({ err, cluster }, "could not try the cluster's watch lease");
        continue;
      }
      if (!grant) continue;
      if (stopped) {
        await releaseLease(db, grant).catch(() => undefined);
        return;
      }
      keepUntil(cluster, grant, sentAt + ttl - margin);
      log.info({ cluster, token: String(grant.token) }, "cluster watch lease gained; starting the watch");
      try {
        await lifecycle.start(cluster, grant);
      } catch (err) {
        log.error({ err, cluster }, "starting the cluster watch failed; retried on the next tick");
      }
    }
  };

  const tick = () => {
    running ??= pass()
      .catch((err: unknown) => log.error({ err }, "watch lease pass failed"))
      .finally(() => (running = undefined));
    return running;
  };

  // a little jitter: workers started together do not all try at the same instant
  let timer: NodeJS.Timeout | undefined;
  const schedule = (ms: number) => {
    timer = setTimeout(() => {
      void tick().then(() => {
        if (!stopped) schedule(every);
      });
    }, ms);
    timer.unref();
  };
  schedule(Math.floor(Math.random() * Math.min(1000, every)));

  return {
    owns(cluster) {
      const h = held.get(cluster);
      return h && performance.now() <= h.validUntil ? h.grant : undefined;
    },
    held: () => [...held.keys()],
    tick,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
      for (const [cluster, h] of [...held]) {
        await lose(cluster, "worker stopping");
        await releaseLease(db, h.grant).catch((err: unknown) => log.warn({ err, cluster }, "lease not released; it expires on its own"));
      }
    },
  };
}
