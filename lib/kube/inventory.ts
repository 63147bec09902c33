import "server-only";
import { mapLimit } from "@/lib/concurrency";
import { z } from "zod";
import type { KubeTarget } from "@/lib/kube/clusters";
import {
  classifyKubeError,
  createKubeClients,
  listAll,
  rawListPages,
  toClusterError,
  KubeRequestError,
  type KubeClients,
} from "@/lib/kube/client";
import { decideContainerDigest, parseImageReference, type ContainerDigest } from "@/lib/kube/image-ref";
import { ownerKey, controllerOf, resolvePodWorkload, type OwnerIndex, type OwnerReference } from "@/lib/kube/owners";
import { podFingerprint, podWatchFor, type CachedPod } from "@/lib/kube/pod-watch";
import type {
  ClusterInventory,
  ClusterRecord,
  ContainerKind,
  ContainerRecord,
  ImageReference,
  InventoryStats,
  NamespaceRecord,
  PodRecord,
  WorkloadRecord,
} from "@/lib/kube/types";
import { storable } from "@/lib/text";

export interface InventoryOptions {
  /**
   * Seed the cluster's pod watch (lib/kube/pod-watch.ts) with this list and watch from it: its
   * follower (lib/watch) writes every change from then on. For long-running workers.
   */
  watch?: boolean;
  /** `limit` of each list request (default 500, as kubectl uses). */
  pageSize?: number;
  /** Timeout of each request in ms (default 30 s). */
  timeoutMs?: number;
  /** Clock, for tests. */
  now?: () => Date;
}

export const DEFAULT_PAGE_SIZE = 500;

const emptyStats = (): InventoryStats => ({
  namespacePages: 0,
  podPages: 0,
  replicaSetPages: 0,
  jobPages: 0,
  pods: 0,
  containers: 0,
  distinctDigests: 0,
  containersNeedingResolution: 0,
  durationMs: 0,
});

export function clusterRecordOf(target: KubeTarget): ClusterRecord {
  return { name: target.name, source: target.source, context: target.context, server: target.server };
}

/**
 * The fields of the Kubernetes objects the inventory reads, validated per object on the raw JSON of
 * each page (zod strips every other field). Lists are read as raw JSON rather than through
 * client-node's typed API, whose ObjectSerializer turns each page into model-class instances first:
 * for 20,000 pods that doubled the allocation and the time of an inventory.
 */
const ownerSchema = z.object({ apiVersion: z.string().optional(), kind: z.string(), name: z.string(), controller: z.boolean().optional() });
const metadataSchema = z.object({
  name: z.string().nullish(),
  namespace: z.string().nullish(),
  uid: z.string().nullish(),
  ownerReferences: z.array(ownerSchema).nullish(),
});
const containerSchema = z.object({ name: z.string(), image: z.string().nullish() });
const containerStatusSchema = z.object({ name: z.string(), imageID: z.string().nullish() });
const containers = z.array(containerSchema).nullish();
const statuses = z.array(containerStatusSchema).nullish();
export const podSchema = z.object({
  metadata: metadataSchema.nullish(),
  spec: z
    .object({
      nodeName: z.string().nullish(),
      serviceAccountName: z.string().max(253).nullish(),
      imagePullSecrets: z.array(z.object({ name: z.string().max(253).nullish() })).nullish(),
      initContainers: containers,
      containers,
      ephemeralContainers: containers,
    })
    .nullish(),
  status: z
    .object({ phase: z.string().nullish(), initContainerStatuses: statuses, containerStatuses: statuses, ephemeralContainerStatuses: statuses })
    .nullish(),
});
const namespaceSchema = z.object({
  metadata: z.object({ name: z.string().nullish(), uid: z.string().nullish(), labels: z.record(z.string(), z.string()).nullish() }).nullish(),
});
const ownedObjectSchema = z.object({ metadata: metadataSchema.nullish() });

/** The parts of a pod `podContainers` reads; client-node's `V1Pod` fits it too. */
export interface PodContainersSource {
  spec?: {
    initContainers?: readonly { name: string; image?: string | null }[] | null;
    containers?: readonly { name: string; image?: string | null }[] | null;
    ephemeralContainers?: readonly { name: string; image?: string | null }[] | null;
  } | null;
  status?: {
    initContainerStatuses?: readonly { name: string; imageID?: string | null }[] | null;
    containerStatuses?: readonly { name: string; imageID?: string | null }[] | null;
    ephemeralContainerStatuses?: readonly { name: string; imageID?: string | null }[] | null;
  } | null;
}

/**
 * Per-inventory caches: 20,000 pods usually run a few thousand distinct images, so the parsed
 * reference and the digest decision are computed once per distinct (reference, imageID) and the
 * resulting objects shared, which keeps both the CPU time and the retained memory per pod small.
 * `strings` interns the repetitive strings of the records (image references and IDs, container
 * names, namespaces, phases, node names) so that 20,000 pods hold one copy of each.
 */
export interface RecordCache {
  images: Map<string, ImageReference | null>;
  digests: Map<string, { decision: ContainerDigest; image: ImageReference | null; imageRef: string; imageID: string | null }>;
  strings: Map<string, string>;
}

export const newRecordCache = (): RecordCache => ({ images: new Map(), digests: new Map(), strings: new Map() });

function intern(cache: RecordCache, value: string): string {
  const known = cache.strings.get(value);
  if (known !== undefined) return known;
  cache.strings.set(value, value);
  return value;
}

function containerRecords(
  kind: ContainerKind,
  specs: readonly { name: string; image?: string | null }[] | null | undefined,
  statuses: readonly { name: string; imageID?: string | null }[] | null | undefined,
  cache: RecordCache,
): ContainerRecord[] {
  if (!specs?.length) return [];
  const imageIdOf = (name: string): string | null => {
    for (const s of statuses ?? []) if (s.name === name) return s.imageID || null;
    return null;
  };
  return specs.map((c) => {
    // a pod's image is any string its author wrote (the API server lets U+0000 through), kept in PostgreSQL
    const rawRef = storable(c.image ?? "");
    const rawId = storable(imageIdOf(c.name));
    const key = `${rawRef}\n${rawId ?? ""}`;
    let entry = cache.digests.get(key);
    if (!entry) {
      let image = cache.images.get(rawRef);
      if (image === undefined) {
        image = parseImageReference(rawRef);
        cache.images.set(rawRef, image);
      }
      entry = { decision: decideContainerDigest(image, rawId), image, imageRef: rawRef, imageID: rawId };
      cache.digests.set(key, entry);
    }
    const d = entry.decision;
    return {
      kind,
      name: intern(cache, c.name),
      imageRef: entry.imageRef,
      image: entry.image,
      digest: d.digest,
      digestSource: d.digestSource,
      digestOrigin: d.digestOrigin,
      needsResolution: d.needsResolution,
      imageID: entry.imageID,
      observedRepository: d.observedRepository,
    };
  });
}

/** The containers of a pod, every kind (init, app, ephemeral), each with its digest decision. */
export function podContainers(pod: PodContainersSource, cache: RecordCache = newRecordCache()): ContainerRecord[] {
  const init = containerRecords("init", pod.spec?.initContainers, pod.status?.initContainerStatuses, cache);
  const app = containerRecords("app", pod.spec?.containers, pod.status?.containerStatuses, cache);
  const ephemeral = containerRecords("ephemeral", pod.spec?.ephemeralContainers, pod.status?.ephemeralContainerStatuses, cache);
  return init.length || ephemeral.length ? [...init, ...app, ...ephemeral] : app;
}

/** Counts objects of one list that failed validation, keeping the first problem for the warning. */
class Rejected {
  count = 0;
  first = "";
  add(what: string, error: z.ZodError) {
    if (this.count++ === 0) {
      const issue = error.issues[0];
      this.first = `${what}: ${issue ? `${issue.path.join(".") || "(object)"}: ${issue.message}` : "invalid"}`;
    }
  }
  clear() {
    this.count = 0;
    this.first = "";
  }
  warning(kind: string): string | null {
    return this.count ? `${this.count} ${kind} skipped: unreadable object (first: ${this.first})` : null;
  }
}

/**
 * Inventories one cluster: namespaces (with labels), pods with every container and its digest, and
 * the workload owning each pod. Lists are paginated; ReplicaSets and Jobs are listed once per cluster
 * to resolve owners. Never throws for the cluster's own failures: they come back in `error`.
 */
export async function inventoryCluster(target: KubeTarget, opts: InventoryOptions = {}): Promise<ClusterInventory> {
  const now = opts.now ?? (() => new Date());
  const started = Date.now();
  const cluster = clusterRecordOf(target);
  const stats = emptyStats();
  const failed = (err: KubeRequestError): ClusterInventory => ({
    cluster,
    collectedAt: now(),
    error: toClusterError(err, now()),
    namespaces: [],
    workloads: [],
    pods: [],
    warnings: [],
    stats: { ...stats, durationMs: Date.now() - started },
  });
  if (!target.kubeConfig || target.configError) {
    return failed(new KubeRequestError("config", target.configError ?? "no client configuration"));
  }
  let clients: KubeClients;
  try {
    clients = createKubeClients(target.kubeConfig, { timeoutMs: opts.timeoutMs });
  } catch (err) {
    return failed(new KubeRequestError("config", (err as Error).message));
  }
  try {
    return await collect(target, clients, opts, stats, started, now);
  } catch (err) {
    return failed(classifyKubeError(err, "list the cluster's resources", target.server));
  } finally {
    await clients.close();
  }
}

async function collect(
  target: KubeTarget,
  clients: KubeClients,
  opts: InventoryOptions,
  stats: InventoryStats,
  started: number,
  now: () => Date,
): Promise<ClusterInventory> {
  const limit = opts.pageSize ?? DEFAULT_PAGE_SIZE;
  const warnings: string[] = [];
  const must = <T,>(what: string, p: Promise<T>) =>
    p.catch((err: unknown) => {
      throw classifyKubeError(err, what, target.server);
    });

  const cache = newRecordCache();
  // where each list was taken (its first page's resourceVersion; a restarted list forgets it)
  const versions: Partial<Record<"namespaces" | "replicasets" | "jobs", string>> = {};
  const namespaces: NamespaceRecord[] = [];
  const badNamespaces = new Rejected();
  const namespacesDone = must(
    "list namespaces",
    listAll(
      rawListPages(clients, "/api/v1/namespaces", limit, (rv) => (versions.namespaces ??= rv)),
      (items) => {
        for (const raw of items) {
          const r = namespaceFromRaw(raw);
          if (r && "error" in r) badNamespaces.add(nameOf(raw), r.error);
          else if (r) namespaces.push(r);
        }
      },
      () => {
        namespaces.length = 0;
        versions.namespaces = undefined;
        badNamespaces.clear();
      },
    ),
  );

  // Pods are reduced to records page by page: a page's parsed JSON is garbage as soon as its records
  // are made, so at most one page of raw objects is alive at a time. The workload is set once the
  // owner indexes are complete; until then each record's owner references wait in `owners`.
  // With opts.watch, the pod watch is seeded with each pod's fingerprint and follows from this list.
  const pods: PodRecord[] = [];
  const owners: (readonly OwnerReference[] | null | undefined)[] = [];
  const badPods = new Rejected();
  const watch = opts.watch && target.kubeConfig ? podWatchFor(target) : undefined;
  const seeded = watch ? new Map<string, string>() : undefined;
  let listRv: string | undefined;
  const podsDone = must(
    "list pods",
    listAll(
      rawListPages(clients, "/api/v1/pods", limit, (rv) => (listRv ??= rv)),
      (items) => {
        for (const raw of items) {
          const r = podFromRaw(raw, cache);
          if ("error" in r) {
            if (r.error) badPods.add(nameOf(raw), r.error);
            continue;
          }
          pods.push(r.record);
          owners.push(r.owners);
          seeded?.set(r.record.uid, podFingerprint(r));
        }
      },
      () => {
        pods.length = 0;
        owners.length = 0;
        seeded?.clear();
        listRv = undefined;
        badPods.clear();
      },
    ),
  ).then((pages) => {
    // follow every change from this list on
    if (watch && seeded && listRv) watch.seed(seeded, listRv, target);
    return pages;
  });

  // Owner indexes: a failure here degrades owner resolution (with a warning), never the inventory.
  const index = async (kind: "ReplicaSet" | "Job"): Promise<{ index: OwnerIndex | null; pages: number }> => {
    const idx: OwnerIndex = new Map();
    const bad = new Rejected();
    const key = kind === "ReplicaSet" ? "replicasets" : "jobs";
    try {
      const pages = await listAll(
        rawListPages(clients, kind === "ReplicaSet" ? "/apis/apps/v1/replicasets" : "/apis/batch/v1/jobs", limit, (rv) => (versions[key] ??= rv)),
        (items) => {
          for (const raw of items) {
            const parsed = ownedObjectSchema.safeParse(raw);
            if (!parsed.success) {
              bad.add(nameOf(raw), parsed.error);
              continue;
            }
            const md = parsed.data.metadata;
            if (md?.name && md.namespace) idx.set(ownerKey(md.namespace, md.name), controllerOf(md.ownerReferences));
          }
        },
        () => {
          idx.clear();
          versions[key] = undefined;
          bad.clear();
        },
      );
      const warning = bad.warning(kind === "ReplicaSet" ? "replicaset(s)" : "job(s)");
      if (warning) warnings.push(warning);
      return { index: idx, pages };
    } catch (err) {
      const e = classifyKubeError(err, `list ${kind === "ReplicaSet" ? "replicasets" : "jobs"}`, target.server);
      warnings.push(`${e.message}; pods owned by a ${kind} are reported under the ${kind}`);
      return { index: null, pages: 0 };
    }
  };

  const [nsPages, podPages, rs, jobs] = await Promise.all([namespacesDone, podsDone, index("ReplicaSet"), index("Job")]);
  stats.namespacePages = nsPages;
  stats.podPages = podPages;
  stats.replicaSetPages = rs.pages;
  stats.jobPages = jobs.pages;
  for (const w of [badNamespaces.warning("namespace(s)"), badPods.warning("pod(s)")]) if (w) warnings.push(w);

  const workloads = new Map<string, WorkloadRecord>();
  const unresolved = { ReplicaSet: 0, Job: 0 };
  const digests = new Set<string>();
  const noIndex: OwnerIndex = new Map();
  for (let i = 0; i < pods.length; i++) {
    const p = pods[i]!;
    const podOwners = owners[i];
    const r = resolvePodWorkload(p.namespace, p.name, podOwners, rs.index ?? noIndex, jobs.index ?? noIndex);
    if (r.unresolved && (r.unresolved === "ReplicaSet" ? rs.index : jobs.index)) unresolved[r.unresolved]++;
    const key = `${p.namespace}/${r.workload.kind}/${r.workload.name}`;
    const known = workloads.get(key);
    if (!known) {
      const ownerRef = r.workload.kind === "Other" ? podOwners?.find((o) => o.kind === r.workload.ownerKind) : undefined;
      workloads.set(key, {
        namespace: p.namespace,
        kind: r.workload.kind,
        name: r.workload.name,
        ...(r.workload.ownerKind ? { ownerKind: r.workload.ownerKind } : {}),
        ...(ownerRef?.apiVersion ? { ownerApiVersion: ownerRef.apiVersion } : {}),
      });
    }
    p.workload = r.workload;
    for (const c of p.containers) {
      stats.containers++;
      if (c.digest) digests.add(c.digest);
      if (c.needsResolution) stats.containersNeedingResolution++;
    }
  }
  owners.length = 0;
  for (const kind of ["ReplicaSet", "Job"] as const) {
    if (unresolved[kind]) warnings.push(`${unresolved[kind]} pod(s) name a ${kind} that no longer exists; reported under the ${kind}`);
  }
  stats.pods = pods.length;
  stats.distinctDigests = digests.size;
  stats.durationMs = Date.now() - started;
  return {
    cluster: clusterRecordOf(target),
    collectedAt: now(),
    error: null,
    namespaces,
    workloads: [...workloads.values()],
    pods,
    warnings,
    stats,
    // only an inventory made of four complete lists, nothing skipped, can be proven unchanged later
    ...(listRv && versions.namespaces && versions.replicasets && versions.jobs && warnings.length === 0
      ? { listVersions: { server: target.server, namespaces: versions.namespaces, pods: listRv, replicasets: versions.replicasets, jobs: versions.jobs } }
      : {}),
  };
}

/**
 * A pod as the inventory keeps it, from the API's JSON (a list item or a watch event's object).
 * `error` when it does not have the expected shape; `error: null` for an object without identity.
 */
export function podFromRaw(raw: unknown, cache: RecordCache): CachedPod | { error: z.ZodError | null } {
  const parsed = podSchema.safeParse(raw);
  if (!parsed.success) return { error: parsed.error };
  const pod = parsed.data;
  const md = pod.metadata;
  if (!md?.name || !md.namespace || !md.uid) return { error: null };
  return {
    record: {
      namespace: intern(cache, md.namespace),
      uid: md.uid,
      name: md.name,
      phase: pod.status?.phase ? intern(cache, pod.status.phase) : null,
      nodeName: pod.spec?.nodeName ? intern(cache, pod.spec.nodeName) : null,
      workload: { kind: "Pod", name: md.name },
      containers: podContainers(pod, cache),
      pullSecrets: [...new Set((pod.spec?.imagePullSecrets ?? []).flatMap((r) => (r.name ? [intern(cache, r.name)] : [])))].slice(0, MAX_PULL_SECRETS),
      serviceAccount: pod.spec?.serviceAccountName ? intern(cache, pod.spec.serviceAccountName) : null,
    },
    owners: md.ownerReferences,
  };
}

/** A namespace from the API's JSON (a list item or a watch event's object); null without a name. */
export function namespaceFromRaw(raw: unknown): NamespaceRecord | { error: z.ZodError } | null {
  const parsed = namespaceSchema.safeParse(raw);
  if (!parsed.success) return { error: parsed.error };
  const md = parsed.data.metadata;
  if (!md?.name) return null;
  return { name: md.name, uid: md.uid ?? null, labels: { ...(md.labels ?? {}) } };
}

/** Pull secrets kept per pod (the kubelet tries them in order; more are ignored). */
const MAX_PULL_SECRETS = 32;

/** `namespace/name` of a raw object, for a warning about it. */
function nameOf(raw: unknown): string {
  const md = (raw as { metadata?: { name?: unknown; namespace?: unknown } } | null)?.metadata;
  const name = typeof md?.name === "string" ? md.name : "(unnamed)";
  return typeof md?.namespace === "string" ? `${md.namespace}/${name}` : name;
}

/**
 * Inventories several clusters concurrently. Each cluster's failure (unreachable, expired
 * credentials, RBAC denied, bad kubeconfig entry) is recorded in its own result and never stops the
 * others; results keep the order of `targets`.
 */
export async function inventoryClusters(
  targets: readonly KubeTarget[],
  opts: InventoryOptions & { concurrency?: number } = {},
): Promise<ClusterInventory[]> {
  return mapLimit(targets, opts.concurrency ?? 4, (t) => inventoryCluster(t, opts));
}
