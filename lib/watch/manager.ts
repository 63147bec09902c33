import "server-only";
import type { Logger } from "pino";
import type { Db } from "@/lib/db/client";
import type { KubeTarget } from "@/lib/kube/clusters";
import { coverageRefresh, imageCheck } from "@/lib/jobs/definitions/scan";
import type { JobContext } from "@/lib/jobs/registry";
import type { ScanAdapters } from "@/lib/scan/adapters";
import { imageBatches } from "@/lib/scan/pipeline";
import { ClusterWatch, type WatchServices } from "@/lib/watch/cluster-watch";
import { revalidateHotImages } from "@/lib/watch/revalidate";

export interface WatchManagerOptions {
  db: Db;
  log: Logger;
  /** The worker's sender (pg-boss): image checks and coverage refreshes go through the shared queues. */
  enqueue: JobContext["enqueue"];
  enqueueMany: JobContext["enqueueMany"];
  /** Registry access for revalidation (the worker's scan adapters). */
  adapters: () => Pick<ScanAdapters, "openDiscoveryBatch">;
  /** SIGNET_WATCH_FLUSH_MS. */
  flushMs: number;
  /** SIGNET_REVALIDATE_SECONDS; 0: no revalidation between scans. */
  revalidateSeconds: number;
  /** SIGNET_SCAN_BATCH_SIZE. */
  batchSize: number;
  /** SIGNET_WATCH_RECONCILE_MINUTES in ms; unset: a followed cluster is listed again only when its watch fails. */
  reconcileMs?: number;
}

/**
 * The clusters this process follows (lib/watch/cluster-watch.ts), and the revalidation of the
 * repositories their running images live in. `start(target, { fence })` / `stop(name)` are what a
 * cluster's owner calls when it gains or loses the cluster's lease (lib/jobs/watch-owner.ts; `fence`
 * checks the lease in every write); a process follows a cluster at most once.
 */
export class WatchManager {
  private readonly watches = new Map<string, ClusterWatch>();
  private readonly starting = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Revalidation cycles run and images queued by them (tests, bench). */
  readonly stats = { revalidations: 0, revalidatedImages: 0, rediscoveries: 0 };

  constructor(private readonly opts: WatchManagerOptions) {
    this.scheduleRevalidation();
  }

  /** Clusters followed now. */
  clusters(): string[] {
    return [...this.watches.keys()];
  }

  watchOf(name: string): ClusterWatch | undefined {
    return this.watches.get(name);
  }

  /** Follows `target` (lists and writes it first). A second start of the same cluster waits for the first. */
  async start(target: KubeTarget, opts: { fence?: WatchServices["fence"] } = {}): Promise<void> {
    if (this.stopped) return;
    const running = this.starting.get(target.name);
    if (running) return running;
    if (this.watches.has(target.name)) return;
    const { db, log } = this.opts;
    const watch = new ClusterWatch(target, {
      db,
      log,
      flushMs: this.opts.flushMs,
      batchSize: this.opts.batchSize,
      ...(this.opts.reconcileMs !== undefined ? { reconcileMs: this.opts.reconcileMs } : {}),
      enqueueChecks: (payloads) => this.opts.enqueueMany(imageCheck, payloads),
      refreshCoverage: () => this.opts.enqueue(coverageRefresh, {}),
      ...(opts.fence ? { fence: opts.fence } : {}),
    });
    this.watches.set(target.name, watch);
    const started = watch.start().catch(async (err: unknown) => {
      this.watches.delete(target.name);
      await watch.stop();
      throw err;
    });
    this.starting.set(target.name, started);
    try {
      await started;
    } finally {
      this.starting.delete(target.name);
    }
  }

  /** Stops following a cluster (another process took it over, or the process stops). */
  async stop(name: string): Promise<void> {
    const w = this.watches.get(name);
    if (!w) return;
    this.watches.delete(name);
    await w.stop();
  }

  async stopAll(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await Promise.all([...this.watches.keys()].map((n) => this.stop(n)));
  }

  /** One revalidation cycle now (the timer runs them every SIGNET_REVALIDATE_SECONDS). */
  async revalidate(): Promise<number> {
    const clusters = this.clusters();
    if (clusters.length === 0) return 0;
    const r = await revalidateHotImages({ db: this.opts.db, adapters: this.opts.adapters(), clusters });
    this.stats.revalidations++;
    this.stats.revalidatedImages += r.images;
    if (r.changed.length) {
      this.stats.rediscoveries += r.changed.length;
      await this.opts.enqueueMany(imageCheck, imageBatches(r.changed, { mode: "scan", rediscover: true, trigger: "revalidate" }, this.opts.batchSize));
      this.opts.log.info({ images: r.images, repositories: r.repositories, changed: r.changed.length }, "signatures changed in the registry; images queued for discovery");
    } else {
      // one line a cycle (a minute by default): what the registries were asked, and that it was this worker
      this.opts.log.info({ images: r.images, repositories: r.repositories, clusters }, "hot repositories revalidated; nothing changed");
    }
    return r.changed.length;
  }

  private scheduleRevalidation(): void {
    const seconds = this.opts.revalidateSeconds;
    if (seconds <= 0 || this.stopped) return;
    this.timer = setTimeout(() => {
      void this.revalidate()
        .catch((err: unknown) => this.opts.log.warn({ err: (err as Error).message }, "revalidation failed"))
        .finally(() => this.scheduleRevalidation());
    }, seconds * 1000);
    this.timer.unref();
  }
}
