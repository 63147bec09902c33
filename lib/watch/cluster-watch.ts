import "server-only";
import { Watch } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { canonicalJson } from "@/lib/audit/chain";
import { createLimiter } from "@/lib/concurrency";
import type { Db } from "@/lib/db/client";
import type { KubeTarget } from "@/lib/kube/clusters";
import { createKubeClients, type KubeClients } from "@/lib/kube/client";
import { clusterRecordOf, inventoryCluster, namespaceFromRaw } from "@/lib/kube/inventory";
import { controllerOf, ownerKey, resolvePodWorkload, type OwnerIndex, type OwnerReference } from "@/lib/kube/owners";
import { podWatchFor, type CachedPod, type PodWatch } from "@/lib/kube/pod-watch";
import type { NamespaceRecord, PodRecord } from "@/lib/kube/types";
import { imageBatches, type ImageCheckPayload } from "@/lib/scan/pipeline";
import { watchDriftRows, watchReconciliations } from "@/lib/metrics/process";
import { persistInventory, persistInventoryChanges, type WriteOptions } from "@/lib/scan/persist-inventory";

/** What a cluster watch needs from the process running it (lib/watch/manager.ts binds pg-boss). */
export interface WatchServices {
  db: Db;
  log: Logger;
  /** Queues image checks (the `image.check` job, deduplicated by its keys). */
  enqueueChecks(payloads: ImageCheckPayload[]): Promise<unknown>;
  /** Asks for a coverage snapshot soon (pods left). */
  refreshCoverage(): Promise<unknown>;
  /** Changes are written at most this often (ms). */
  flushMs: number;
  /** Images per image-check job. */
  batchSize?: number;
  /**
   * A sync (a scan) this long after the last list lists the cluster again and compares it row by row
   * with the stored inventory (SIGNET_WATCH_RECONCILE_MINUTES); unset: only a failed watch lists again.
   */
  reconcileMs?: number;
  /** Checked inside every write's transaction: the cluster's watch lease is still this worker's. */
  fence?: WriteOptions["fence"];
}

/** Pending changes past this many pods are written at once instead of waiting for the timer. */
const FLUSH_AT = 1000;
/** Owner lookups remembered (ReplicaSet / Job → its controller) before the cache starts afresh. */
const OWNER_CACHE_LIMIT = 10_000;
const RETRY_MAX_MS = 30_000;
/**
 * The lists of the clusters a process follows are taken and written one at a time: a list of a large
 * cluster and its write's working set are the largest things a worker holds (docs/decisions/0019), and
 * a worker gaining three leases at once would otherwise hold three.
 */
const oneListAtATime = createLimiter(1);

/**
 * One cluster followed between scans: its pods (lib/kube/pod-watch.ts, shared with the scans'
 * inventory) and its namespaces. `start` lists the cluster once and writes it as a full inventory
 * would (pods created while nobody watched are found, pods gone are marked deleted), then every pod
 * added, changed or deleted and every namespace whose labels changed is written in small batches
 * (`persistInventoryChanges`, the same statements as a full inventory). An image a new container runs
 * is queued for a check at once: its stored evidence is reused when it was checked before (the new
 * container only needs verdicts), a digest never seen before is discovered.
 *
 * A watch that ends resumes from its last resourceVersion; one that cannot (410 Gone) lists again and
 * writes that list as a full inventory. The stored inventory is then the watch's state: a scan in this
 * process keeps it (`sync`) instead of listing the cluster. Memory: a fingerprint per pod (the pod
 * watch), the records of the changes not yet written (keyed by pod, written every second), the
 * namespaces' labels and capped caches; a list (one at a time per process) while it is written.
 */
export class ClusterWatch {
  private pods: PodWatch | undefined;
  private pending = new Map<string, { kind: "upserted" | "deleted"; pod: CachedPod }>();
  /** Namespaces whose labels changed, and namespaces deleted (null). */
  private pendingNamespaces = new Map<string, NamespaceRecord | null>();
  private labels = new Map<string, string>();
  private owners = new Map<string, OwnerReference | null>();
  private clients: KubeClients | undefined;
  private namespaceWatch: AbortController | undefined;
  private ready = false;
  /** The last write of changes failed (they wait for the next one). */
  private behind = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private retryMs = 1000;
  /** Lists and flushes run one after the other. */
  private chain: Promise<void> = Promise.resolve();
  /** When the last list was written (ms since the epoch; 0: none yet). */
  private listedAt = 0;
  /**
   * Counters: lists, reconciliations (lists a sync took because the last was older than reconcileMs)
   * and drift (pod and container rows such lists found different from the stored inventory, plus
   * pods they found gone: what the watch had missed; 0 while the watch is complete).
   */
  readonly stats = { lists: 0, reconciliations: 0, drift: 0, flushes: 0, podsWritten: 0, podsDeleted: 0, imagesQueued: 0, namespaces: 0, errors: 0 };

  constructor(
    readonly target: KubeTarget,
    private readonly services: WatchServices,
  ) {}

  get name(): string {
    return this.target.name;
  }

  /** The pod watch's counters (events, resumptions, relists asked for), for tests and the bench. */
  get podStats(): PodWatch["stats"] | undefined {
    return this.pods?.stats;
  }

  /** Lists the cluster, writes it, and follows it from there. Resolves once the first list is written. */
  async start(): Promise<void> {
    if (!this.target.kubeConfig) throw new Error(`cluster ${this.target.name}: no client configuration`);
    this.clients = createKubeClients(this.target.kubeConfig);
    this.pods = podWatchFor(this.target);
    this.pods.follow({
      change: (kind, pod) => this.change(kind, pod),
      resync: (why) => this.resync(why),
      sync: () => this.sync(),
      // pending changes older than the list are superseded by it; those after it (the new watch's,
      // arriving while the rest of the inventory is listed and written) are kept for the next flush
      seeded: () => this.pending.clear(),
    });
    await this.serial(() => this.list());
    this.watchNamespaces();
  }

  /** Stops following; changes not yet written are dropped (the next owner's list writes them). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    this.pods?.stop();
    this.namespaceWatch?.abort();
    await this.chain.catch(() => undefined);
    await this.clients?.close();
  }

  private serial(fn: () => Promise<void>): Promise<void> {
    const next = this.chain.then(() => (this.stopped ? undefined : fn()));
    this.chain = next.catch(() => undefined);
    return next;
  }

  private schedule(ms: number): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.serial(() => this.flush());
    }, ms);
    this.timer.unref();
  }

  /**
   * Brings the stored inventory in step with the cluster: the changes not yet written are written
   * now, and a watch that cannot be trusted (ended without resuming, silent) is replaced by a new list
   * written as a full inventory. A watch is only as complete as the API server's event stream and this
   * process's handling of it, so a sync `reconcileMs` after the last list also lists again and compares
   * every row (a reconciliation: what differs is written and counted as drift). True when the stored
   * inventory is the watch's state: a scan keeps it as it is (lib/scan/pipeline.ts) instead of listing
   * the cluster and writing the same rows again.
   */
  async sync(): Promise<boolean> {
    if (this.stopped) return false;
    await this.serial(async () => {
      if (!this.ready || !this.pods?.usable()) return this.list();
      await this.flush();
      const every = this.services.reconcileMs;
      if (every !== undefined && Date.now() - this.listedAt >= every) await this.list({ reconcile: true });
    });
    return !this.stopped && this.ready && !this.behind && this.pods?.usable() === true;
  }

  /** A full list written as an inventory; pending changes older than it are superseded. */
  private list(opts: { reconcile?: boolean } = {}): Promise<void> {
    return oneListAtATime(() => (this.stopped ? Promise.resolve() : this.listNow(opts)));
  }

  private async listNow(opts: { reconcile?: boolean }): Promise<void> {
    const { db, log } = this.services;
    this.ready = false;
    this.stats.lists++;
    const inv = await inventoryCluster(this.target, { watch: true });
    if (inv.error) {
      // recorded on the cluster; try again later (the scans keep their own schedule)
      await persistInventory(db, inv, { fence: this.services.fence }).catch(() => undefined);
      this.stats.errors++;
      log.warn({ cluster: this.name, err: inv.error.message }, "cluster watch: list failed; retrying");
      const delay = this.retryMs;
      this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
      setTimeout(() => this.resync("list failed"), delay).unref();
      return;
    }
    this.retryMs = 1000;
    this.behind = false;
    // a reconciliation compares every row even when the list hashes as the stored inventory did
    const persisted = await persistInventory(db, inv, { fence: this.services.fence, ...(opts.reconcile ? { compareRows: true } : {}) });
    this.listedAt = Date.now();
    if (opts.reconcile) {
      const drift = persisted.written.pods + persisted.written.containers + persisted.deletedPods;
      this.stats.reconciliations++;
      this.stats.drift += drift;
      watchReconciliations.inc({ cluster: this.name, result: drift > 0 ? "drift" : "clean" });
      if (drift > 0) watchDriftRows.inc({ cluster: this.name }, drift);
      const fields = { cluster: this.name, pods: persisted.written.pods, containers: persisted.written.containers, deletedPods: persisted.deletedPods };
      if (drift > 0) log.warn(fields, "cluster watch: reconciliation found rows the watch had not written; written now");
      else log.info(fields, "cluster watch: reconciled; the stored inventory was the cluster's");
    }
    for (const n of inv.namespaces) this.labels.set(n.name, canonicalJson(n.labels));
    const counted = inv.stats.pods;
    // the records go: from now on the watch keeps a fingerprint per pod
    inv.pods.length = 0;
    await this.queueChecks(persisted.imageIds);
    if (persisted.deletedPods > 0) await this.services.refreshCoverage();
    this.ready = true;
    log.info({ cluster: this.name, pods: counted, unchanged: persisted.unchanged, queued: persisted.imageIds.length }, "cluster watch: inventory written; following changes");
    // changes that arrived while the list was written
    if (this.pending.size || this.pendingNamespaces.size) this.schedule(0);
  }

  private resync(why: string): void {
    if (this.stopped) return;
    this.services.log.info({ cluster: this.name, why }, "cluster watch: listing again");
    void this.serial(() => this.list()).catch((err: unknown) => {
      this.stats.errors++;
      this.services.log.warn({ cluster: this.name, err: (err as Error).message }, "cluster watch: relist failed; retrying");
      setTimeout(() => this.resync("relist failed"), RETRY_MAX_MS).unref();
    });
  }

  private change(kind: "upserted" | "deleted", pod: CachedPod): void {
    if (this.stopped) return;
    this.pending.set(pod.record.uid, { kind, pod });
    this.schedule(this.pending.size >= FLUSH_AT ? 0 : this.services.flushMs);
  }

  private async flush(): Promise<void> {
    if (!this.ready || (this.pending.size === 0 && this.pendingNamespaces.size === 0)) return;
    const batch = [...this.pending.values()];
    const pendingNamespaces = [...this.pendingNamespaces];
    const namespaces = pendingNamespaces.flatMap(([, n]) => (n ? [n] : []));
    const deletedNamespaces = pendingNamespaces.flatMap(([name, n]) => (n ? [] : [name]));
    this.pending.clear();
    this.pendingNamespaces.clear();
    try {
      const pods: PodRecord[] = [];
      const deletedUids: string[] = [];
      for (const c of batch) {
        if (c.kind === "deleted") deletedUids.push(c.pod.record.uid);
        else pods.push({ ...c.pod.record, workload: await this.workloadOf(c.pod) });
      }
      const r = await persistInventoryChanges(
        this.services.db,
        { cluster: clusterRecordOf(this.target), collectedAt: new Date(), namespaces, deletedNamespaces, pods, deletedUids },
        { fence: this.services.fence },
      );
      this.behind = false;
      this.stats.flushes++;
      this.stats.podsWritten += pods.length;
      this.stats.podsDeleted += r.deletedPods;
      this.stats.namespaces += namespaces.length + deletedNamespaces.length;
      await this.queueChecks([...new Set([...r.imageIds, ...r.namespaceImageIds])]);
      if (r.deletedPods > 0) await this.services.refreshCoverage();
      this.services.log.debug({ cluster: this.name, pods: pods.length, deleted: r.deletedPods, namespaces: namespaces.length, checks: r.imageIds.length }, "cluster watch: changes written");
    } catch (err) {
      this.stats.errors++;
      this.behind = true;
      this.services.log.warn({ cluster: this.name, err: (err as Error).message }, "cluster watch: changes not written; retrying");
      // put back what no newer change superseded
      for (const c of batch) if (!this.pending.has(c.pod.record.uid)) this.pending.set(c.pod.record.uid, c);
      for (const [name, n] of pendingNamespaces) if (!this.pendingNamespaces.has(name)) this.pendingNamespaces.set(name, n);
      this.schedule(Math.max(this.services.flushMs, 2000));
    }
  }

  private async queueChecks(imageIds: string[]): Promise<void> {
    if (imageIds.length === 0) return;
    // An image whose signatures are stored (found / none) is re-verified from them (mode reverify):
    // its new containers need verdicts, not a registry round trip. A digest never discovered, or whose
    // last discovery failed, is discovered (mode scan).
    const known = new Set(
      (await this.services.db.image.findMany({ where: { id: { in: imageIds }, discovery: { in: ["found", "none"] } }, select: { id: true } })).map((i) => i.id),
    );
    const size = this.services.batchSize;
    await this.services.enqueueChecks([
      ...imageBatches(imageIds.filter((id) => known.has(id)), { mode: "reverify", trigger: "watch" }, size),
      ...imageBatches(imageIds.filter((id) => !known.has(id)), { mode: "scan", trigger: "watch" }, size),
    ]);
    this.stats.imagesQueued += imageIds.length;
  }

  /**
   * The workload of a pod from the watch: its controller, through the ReplicaSet (Job) to the
   * Deployment (CronJob) with one GET per ReplicaSet or Job not seen before (remembered, bounded).
   * A ReplicaSet that cannot be read reports the pod under the ReplicaSet, as the inventory does.
   */
  private async workloadOf(pod: CachedPod): Promise<PodRecord["workload"]> {
    const { namespace, name } = pod.record;
    const owner = controllerOf(pod.owners);
    const rs: OwnerIndex = new Map();
    const jobs: OwnerIndex = new Map();
    if (owner && (owner.kind === "ReplicaSet" || owner.kind === "Job")) {
      const key = `${owner.kind}\u0000${ownerKey(namespace, owner.name)}`;
      let parent = this.owners.get(key);
      if (parent === undefined) {
        const path =
          owner.kind === "ReplicaSet"
            ? `/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}/replicasets/${encodeURIComponent(owner.name)}`
            : `/apis/batch/v1/namespaces/${encodeURIComponent(namespace)}/jobs/${encodeURIComponent(owner.name)}`;
        try {
          const obj = (await this.clients!.getJson(path)) as { metadata?: { ownerReferences?: OwnerReference[] } };
          parent = controllerOf(obj.metadata?.ownerReferences);
          if (this.owners.size >= OWNER_CACHE_LIMIT) this.owners.clear();
          this.owners.set(key, parent);
        } catch {
          parent = undefined;
        }
      }
      if (parent !== undefined) (owner.kind === "ReplicaSet" ? rs : jobs).set(ownerKey(namespace, owner.name), parent);
    }
    return resolvePodWorkload(namespace, name, pod.owners, rs, jobs).workload;
  }

  /**
   * Namespaces: a watch without a resourceVersion (it starts with every namespace, then follows);
   * only a namespace whose labels differ from what was last written is written, and a namespace
   * deleted is marked deleted. Re-started on end.
   */
  private watchNamespaces(): void {
    if (this.stopped || !this.target.kubeConfig) return;
    const controller = new AbortController();
    this.namespaceWatch = controller;
    const again = (why: string) => {
      if (this.stopped || controller !== this.namespaceWatch) return;
      this.namespaceWatch = undefined;
      controller.abort();
      this.services.log.debug({ cluster: this.name, why }, "cluster watch: namespace watch ended; restarting");
      const delay = this.retryMs;
      this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
      setTimeout(() => this.watchNamespaces(), delay).unref();
    };
    const watch = new Watch(this.target.kubeConfig);
    (watch as unknown as { requestTimeoutMs: number }).requestTimeoutMs = 150_000;
    watch
      .watch(
        "/api/v1/namespaces",
        { allowWatchBookmarks: true, timeoutSeconds: 1800 },
        (type: string, obj: unknown) => {
          if (type !== "ADDED" && type !== "MODIFIED" && type !== "DELETED") return;
          const ns = namespaceFromRaw(obj);
          if (!ns || "error" in ns) return;
          if (type === "DELETED") {
            this.labels.delete(ns.name);
            this.pendingNamespaces.set(ns.name, null);
            this.schedule(this.services.flushMs);
            return;
          }
          const labels = canonicalJson(ns.labels);
          if (this.labels.get(ns.name) === labels) return;
          this.labels.set(ns.name, labels);
          this.pendingNamespaces.set(ns.name, ns);
          this.schedule(this.services.flushMs);
        },
        (err: unknown) => again(err ? String((err as Error).message ?? err) : "closed"),
      )
      .then(
        (c) => {
          if (controller.signal.aborted || this.stopped) c.abort();
          else controller.signal.addEventListener("abort", () => c.abort(), { once: true });
        },
        (err: unknown) => again((err as Error).message),
      );
  }
}
