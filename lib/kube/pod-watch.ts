import "server-only";
import { Watch } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { KubeTarget } from "@/lib/kube/clusters";
import { newRecordCache, podFromRaw, type RecordCache } from "@/lib/kube/inventory";
import type { OwnerReference } from "@/lib/kube/owners";
import type { PodRecord } from "@/lib/kube/types";
import { childLogger } from "@/lib/log";

/** A pod as the inventory keeps it: its record and the owner references its workload comes from. */
export interface CachedPod {
  record: PodRecord;
  owners: readonly OwnerReference[] | null | undefined;
}

/**
 * How long a watch may stay silent (no event, no bookmark) and still be trusted: the API server sends
 * an idle watch a bookmark every two minutes (measured on v1.37), so a live watch is never silent
 * for longer; a connection dead without a reset is noticed within this.
 */
const SILENCE_MS = 150_000;
/** The API server ends the watch after this long; the next inventory lists again (a full resync). */
const WATCH_SECONDS = 1800;

let cachedLog: Logger | undefined;
const logger = () => (cachedLog ??= childLogger("pod-watch"));

/**
 * The pods of one cluster, kept current by a watch that starts at the resourceVersion of the list it
 * was seeded from (so no change between the two is missed): a worker that scans every few minutes
 * lists 20,000 pods once, then reads them from here.
 *
 * It is used only while provably complete: seeded by a list, its watch alive since then without a
 * single unreadable event, and heard from (an event or a bookmark) within the last 150 seconds. Any
 * end of the watch — an error, 410 Gone, the server's timeout, a connection dropped, an event it
 * cannot read — makes it unusable until the next inventory lists again and re-seeds it.
 */
export class PodWatch {
  private pods = new Map<string, CachedPod>();
  private cache: RecordCache = newRecordCache();
  private healthy = false;
  private lastHeard = 0;
  private generation = 0;
  private controller: AbortController | undefined;
  /** Counters for tests: events applied, watches started, ends. */
  readonly stats = { events: 0, watches: 0, ends: 0 };

  constructor(
    readonly key: string,
    private target: KubeTarget,
  ) {}

  usable(now = Date.now()): boolean {
    return this.healthy && now - this.lastHeard < SILENCE_MS;
  }

  /** The pods now (copies: the caller resolves workloads on them). */
  snapshot(): CachedPod[] {
    return [...this.pods.values()].map((c) => ({ record: { ...c.record, workload: { kind: "Pod", name: c.record.name } }, owners: c.owners }));
  }

  /**
   * Replaces the pods with a fresh list taken at `resourceVersion` and watches from there, with the
   * client configuration of `target` (the one the list used: credentials may have changed).
   */
  seed(pods: readonly CachedPod[], resourceVersion: string, target: KubeTarget): void {
    this.stop();
    this.target = target;
    const generation = ++this.generation;
    this.pods = new Map(pods.map((p) => [p.record.uid, p]));
    this.cache = newRecordCache();
    this.healthy = true;
    this.lastHeard = Date.now();
    void this.start(generation, resourceVersion);
  }

  stop(): void {
    this.healthy = false;
    this.generation++;
    this.controller?.abort();
    this.controller = undefined;
  }

  private end(generation: number, why: string): void {
    if (generation !== this.generation) return;
    this.stats.ends++;
    this.healthy = false;
    this.controller?.abort();
    this.controller = undefined;
    logger().debug({ cluster: this.target.name, why }, "pod watch ended; the next inventory lists pods again");
  }

  private async start(generation: number, resourceVersion: string): Promise<void> {
    const kc = this.target.kubeConfig;
    if (!kc) return this.end(generation, "no client configuration");
    const watch = new Watch(kc);
    // client-node aborts a watch silent for 30 s; the server's bookmarks come every two minutes
    (watch as unknown as { requestTimeoutMs: number }).requestTimeoutMs = SILENCE_MS;
    this.stats.watches++;
    try {
      const controller = await watch.watch(
        "/api/v1/pods",
        { resourceVersion, allowWatchBookmarks: true, timeoutSeconds: WATCH_SECONDS },
        (type: string, obj: unknown) => this.apply(generation, type, obj),
        (err: unknown) => this.end(generation, err ? String((err as Error).message ?? err) : "closed"),
      );
      if (generation !== this.generation) controller.abort();
      else this.controller = controller;
    } catch (err) {
      this.end(generation, (err as Error).message);
    }
  }

  private apply(generation: number, type: string, obj: unknown): void {
    if (generation !== this.generation || !this.healthy) return;
    this.lastHeard = Date.now();
    if (type === "BOOKMARK") return;
    if (type === "ERROR") return this.end(generation, `watch error: ${JSON.stringify(obj).slice(0, 300)}`);
    const r = podFromRaw(obj, this.cache);
    if ("error" in r) return this.end(generation, `unreadable ${type} event`);
    this.stats.events++;
    if (type === "DELETED") this.pods.delete(r.record.uid);
    else if (type === "ADDED" || type === "MODIFIED") this.pods.set(r.record.uid, r);
    else this.end(generation, `unknown event type ${type}`);
  }
}

const watches = new Map<string, PodWatch>();

/** The pod watch of a cluster (one per cluster, server and context, per process). */
export function podWatchFor(target: KubeTarget): PodWatch {
  const key = `${target.name}\u0000${target.server ?? ""}\u0000${target.context ?? ""}`;
  let w = watches.get(key);
  if (!w) {
    w = new PodWatch(key, target);
    watches.set(key, w);
  }
  return w;
}

/** Ends every pod watch of this process (worker shutdown). */
export function stopPodWatches(): void {
  for (const w of watches.values()) w.stop();
  watches.clear();
}
