import "server-only";
import { createHash } from "node:crypto";
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
 * The pods of one cluster, followed by a watch that starts at the resourceVersion of the list it was
 * seeded from (so no change between the two is missed), and reported to its follower (lib/watch),
 * which writes them: the stored inventory is the watch's state, a worker's scan keeps it instead of
 * listing the cluster again (docs/decisions/0021).
 *
 * Memory is a fingerprint per pod, not the pod: its uid and a 128-bit digest of what the inventory
 * keeps of it (`podFingerprint`), about 130 bytes a pod (13 MB for 100,000), so an event that changes
 * nothing the inventory keeps (conditions, timestamps: most MODIFIED events) is recognised and not
 * reported, and a deletion is reported for a pod it knew. The records themselves live only until the
 * follower has written them.
 *
 * It is trusted only while provably complete: seeded by a list, its watch alive since then without a
 * single unreadable event, and heard from (an event or a bookmark) within the last 150 seconds. Any
 * end of the watch — an error, 410 Gone, the server's timeout, a connection dropped, an event it
 * cannot read — makes it unusable until the next inventory lists again and re-seeds it.
 */
export class PodWatch {
  /** uid → podFingerprint of the pod as last reported. */
  private pods = new Map<string, string>();
  private cache: RecordCache = newRecordCache();
  private healthy = false;
  private lastHeard = 0;
  private generation = 0;
  private controller: AbortController | undefined;
  /** The resourceVersion of the newest event or bookmark: a followed watch resumes from it. */
  private resourceVersion: string | undefined;
  private follower: PodWatchFollower | undefined;
  private retryMs = RETRY_MIN_MS;
  private retryTimer: NodeJS.Timeout | undefined;
  /** Counters for tests: events applied, watches started, ends, resumptions, relists asked for. */
  readonly stats = { events: 0, watches: 0, ends: 0, resumes: 0, resyncs: 0 };

  constructor(
    readonly key: string,
    private target: KubeTarget,
  ) {}

  usable(now = Date.now()): boolean {
    return this.healthy && now - this.lastHeard < SILENCE_MS;
  }

  /** Pods known now. */
  get size(): number {
    return this.pods.size;
  }

  /** What the watch keeps of a pod: its fingerprint (tests). */
  fingerprintOf(uid: string): string | undefined {
    return this.pods.get(uid);
  }

  /**
   * Replaces the pods with a fresh list taken at `resourceVersion` (uid → `podFingerprint`) and
   * watches from there, with the client configuration of `target` (the one the list used:
   * credentials may have changed).
   */
  seed(pods: Map<string, string>, resourceVersion: string, target: KubeTarget): void {
    const follower = this.follower;
    this.stop();
    this.follower = follower;
    this.target = target;
    const generation = ++this.generation;
    this.pods = pods;
    this.cache = newRecordCache();
    this.healthy = true;
    this.lastHeard = Date.now();
    this.resourceVersion = resourceVersion;
    this.retryMs = RETRY_MIN_MS;
    // the follower's changes not yet written are older than this list: they are its to supersede now,
    // not when the inventory the list is part of is written (events of the new watch arrive before that)
    follower?.seeded?.();
    void this.start(generation, resourceVersion);
  }

  /** Whether a follower (lib/watch) follows this watch. */
  get followed(): boolean {
    return this.follower !== undefined;
  }

  /** The follower's `sync`: false when nobody follows this watch. */
  async sync(): Promise<boolean> {
    return this.follower ? this.follower.sync() : false;
  }

  /** Ends the watch and forgets the pods (a new list re-seeds it). */
  stop(): void {
    this.pods = new Map();
    this.healthy = false;
    this.generation++;
    this.follower = undefined;
    clearTimeout(this.retryTimer);
    this.controller?.abort();
    this.controller = undefined;
  }

  /**
   * Reports every change from now on to `follower` (lib/watch), and keeps the watch going: a watch
   * that ends (the server's timeout, a dropped connection) resumes from the last resourceVersion it
   * saw, without a list; one that cannot resume (410 Gone: that version was compacted away, or an
   * unreadable event) asks the follower to list again (`resync`) and is unusable until re-seeded.
   */
  follow(follower: PodWatchFollower): void {
    this.follower = follower;
  }

  private end(generation: number, why: string, opts: { gone?: boolean } = {}): void {
    if (generation !== this.generation) return;
    this.stats.ends++;
    this.controller?.abort();
    this.controller = undefined;
    const follower = this.follower;
    if (follower && !opts.gone && this.healthy && this.resourceVersion) {
      // resume from the last version seen: every change since is replayed, the pods stay complete
      const next = ++this.generation;
      const rv = this.resourceVersion;
      const delay = this.retryMs;
      this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
      this.stats.resumes++;
      logger().debug({ cluster: this.target.name, why, delay }, "pod watch ended; resuming");
      this.retryTimer = setTimeout(() => void this.start(next, rv), delay);
      this.retryTimer.unref();
      return;
    }
    this.healthy = false;
    if (follower) {
      this.stats.resyncs++;
      logger().info({ cluster: this.target.name, why }, "pod watch cannot resume; listing again");
      follower.resync(why);
      return;
    }
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
        (err: unknown) => this.end(generation, err ? String((err as Error).message ?? err) : "closed", { gone: isGone(err) }),
      );
      if (generation !== this.generation) controller.abort();
      else this.controller = controller;
    } catch (err) {
      this.end(generation, (err as Error).message, { gone: isGone(err) });
    }
  }

  private apply(generation: number, type: string, obj: unknown): void {
    if (generation !== this.generation || !this.healthy) return;
    this.lastHeard = Date.now();
    this.retryMs = RETRY_MIN_MS;
    // 410 Gone and every other error: the watch cannot go on from where it is
    if (type === "ERROR") return this.end(generation, `watch error: ${JSON.stringify(obj).slice(0, 300)}`, { gone: true });
    const rv = resourceVersionOf(obj);
    if (type === "BOOKMARK") {
      if (rv) this.resourceVersion = rv;
      return;
    }
    const r = podFromRaw(obj, this.cache);
    if ("error" in r) return this.end(generation, `unreadable ${type} event`, { gone: true });
    if (type !== "DELETED" && type !== "ADDED" && type !== "MODIFIED") return this.end(generation, `unknown event type ${type}`, { gone: true });
    if (rv) this.resourceVersion = rv;
    this.stats.events++;
    const before = this.pods.get(r.record.uid);
    const after = type === "DELETED" ? undefined : podFingerprint(r);
    if (after === undefined) this.pods.delete(r.record.uid);
    else this.pods.set(r.record.uid, after);
    // most MODIFIED events change nothing the inventory keeps (conditions, timestamps): not reported
    if (this.follower && (after === undefined ? before !== undefined : before !== after)) {
      this.follower.change(after === undefined ? "deleted" : "upserted", r);
    }
    // the interning caches start afresh past a size: their memory stays bounded however long the watch runs
    if (this.cache.strings.size + this.cache.digests.size > CACHE_LIMIT) this.cache = newRecordCache();
  }
}

/** Notified of each change a followed watch applies, and of its need to list again. */
export interface PodWatchFollower {
  change(kind: "upserted" | "deleted", pod: CachedPod): void;
  resync(why: string): void;
  /**
   * The watch was re-seeded from a list: every change reported before is superseded by that list,
   * every change reported from now on is newer than it (and must be kept, even while the rest of the
   * inventory the list belongs to is still being taken).
   */
  seeded?(): void;
  /**
   * Brings the stored inventory in step with the watch (pending changes written; a new list written
   * when the watch cannot be trusted) and says whether it is: a scan then keeps it without listing.
   */
  sync(): Promise<boolean>;
}

const CACHE_LIMIT = 50_000;
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 30_000;

/** An HTTP 410 Gone answer to the watch request: its resourceVersion is too old to resume from. */
const isGone = (err: unknown) => (err as { statusCode?: unknown } | null)?.statusCode === 410;

function resourceVersionOf(obj: unknown): string | undefined {
  const rv = (obj as { metadata?: { resourceVersion?: unknown } } | null)?.metadata?.resourceVersion;
  return typeof rv === "string" && rv !== "" ? rv : undefined;
}

/**
 * What the inventory keeps of a pod (everything persistInventory writes of it, the workload through
 * its owner references), as 128 bits of a SHA-256 (a 16-character one-byte string, ~32 bytes of heap):
 * equal fingerprints, nothing to write. The width is a security bound, not a convenience: whoever can
 * update a pod chooses much of what is hashed (image references, names), and a change whose
 * fingerprint equals the old one is never written, so the stored inventory would keep the old digest
 * and its verdict. At 48 bits (the first version) two such states were a birthday search of ~2^24
 * hashes away — seconds; at 128 bits, 2^64.
 */
export function podFingerprint(p: CachedPod): string {
  const r = p.record;
  const key = JSON.stringify([
    r.namespace,
    r.name,
    r.phase,
    r.nodeName,
    r.serviceAccount,
    r.pullSecrets,
    r.containers.map((c) => [c.kind, c.name, c.imageRef, c.digest, c.digestSource]),
    (p.owners ?? []).map((o) => [o.kind, o.name, o.controller === true]),
  ]);
  // a fresh string of the first 16 bytes (a slice of the whole digest's string would keep it alive)
  return createHash("sha256").update(key).digest().toString("latin1", 0, 16);
}

const watches = new Map<string, PodWatch>();

/** The pod watch of a cluster (one per cluster, server and context, per process). */
export function podWatchFor(target: KubeTarget): PodWatch {
  const key = watchKey(target);
  let w = watches.get(key);
  if (!w) {
    w = new PodWatch(key, target);
    watches.set(key, w);
  }
  return w;
}

/**
 * For a cluster this process follows (lib/watch: the worker holding the cluster's watch lease): its
 * stored inventory brought in step with the watch, and whether it is. A worker's scan keeps such a
 * cluster's stored inventory instead of listing it; other clusters are listed, so a worker that does
 * not own a cluster keeps no watch on it. False for a cluster not followed here.
 */
export async function syncFollowedPods(target: KubeTarget): Promise<boolean> {
  const w = watches.get(watchKey(target));
  return w?.followed ? w.sync() : false;
}

const watchKey = (target: KubeTarget) => `${target.name}\u0000${target.server ?? ""}\u0000${target.context ?? ""}`;

/** Ends every pod watch of this process (worker shutdown). */
export function stopPodWatches(): void {
  for (const w of watches.values()) w.stop();
  watches.clear();
}
