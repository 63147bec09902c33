import "server-only";
import type { V1Container, V1ContainerStatus, V1EphemeralContainer, V1OwnerReference, V1Pod } from "@kubernetes/client-node";
import type { KubeTarget } from "@/lib/kube/clusters";
import {
  classifyKubeError,
  createKubeClients,
  listAll,
  mapConcurrent,
  toClusterError,
  KubeRequestError,
  type KubeClients,
} from "@/lib/kube/client";
import { decideContainerDigest, parseImageReference, type ContainerDigest } from "@/lib/kube/image-ref";
import { ownerKey, controllerOf, resolvePodWorkload, type OwnerIndex } from "@/lib/kube/owners";
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

export interface InventoryOptions {
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
 * Per-inventory caches: 20,000 pods usually run a few thousand distinct images, so the parsed
 * reference and the digest decision are computed once per distinct (reference, imageID) and the
 * resulting objects shared, which keeps both the CPU time and the retained memory per pod small.
 */
export interface RecordCache {
  images: Map<string, ImageReference | null>;
  digests: Map<string, ContainerDigest>;
}

export const newRecordCache = (): RecordCache => ({ images: new Map(), digests: new Map() });

function containerRecords(
  kind: ContainerKind,
  specs: readonly (V1Container | V1EphemeralContainer)[] | undefined,
  statuses: readonly V1ContainerStatus[] | undefined,
  cache: RecordCache,
): ContainerRecord[] {
  if (!specs?.length) return [];
  const byName = new Map<string, V1ContainerStatus>();
  for (const s of statuses ?? []) byName.set(s.name, s);
  return specs.map((c) => {
    const imageRef = c.image ?? "";
    let image = cache.images.get(imageRef);
    if (image === undefined) {
      image = parseImageReference(imageRef);
      cache.images.set(imageRef, image);
    }
    const imageID = byName.get(c.name)?.imageID || null;
    const key = `${imageRef}\n${imageID ?? ""}`;
    let d = cache.digests.get(key);
    if (!d) {
      d = decideContainerDigest(image, imageID);
      cache.digests.set(key, d);
    }
    return {
      kind,
      name: c.name,
      imageRef,
      image,
      digest: d.digest,
      digestSource: d.digestSource,
      digestOrigin: d.digestOrigin,
      needsResolution: d.needsResolution,
      imageID,
      observedRepository: d.observedRepository,
    };
  });
}

/** The containers of a pod, every kind (init, app, ephemeral), each with its digest decision. */
export function podContainers(pod: V1Pod, cache: RecordCache = newRecordCache()): ContainerRecord[] {
  return [
    ...containerRecords("init", pod.spec?.initContainers, pod.status?.initContainerStatuses, cache),
    ...containerRecords("app", pod.spec?.containers, pod.status?.containerStatuses, cache),
    ...containerRecords("ephemeral", pod.spec?.ephemeralContainers, pod.status?.ephemeralContainerStatuses, cache),
  ];
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
  { core, apps, batch }: KubeClients,
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
  const namespaces: NamespaceRecord[] = [];
  const namespacesDone = must(
    "list namespaces",
    listAll(
      (cont) => core.listNamespace({ limit, _continue: cont }),
      (items) => {
        for (const ns of items) {
          if (!ns.metadata?.name) continue;
          namespaces.push({ name: ns.metadata.name, uid: ns.metadata.uid ?? null, labels: { ...(ns.metadata.labels ?? {}) } });
        }
      },
      () => (namespaces.length = 0),
    ),
  );

  // Pods are reduced to records page by page; the raw objects are never all held at once.
  type PendingPod = Omit<PodRecord, "workload"> & { owners: V1OwnerReference[] | undefined };
  const pods: PendingPod[] = [];
  const podsDone = must(
    "list pods",
    listAll(
      (cont) => core.listPodForAllNamespaces({ limit, _continue: cont }),
      (items) => {
        for (const pod of items) {
          const md = pod.metadata;
          if (!md?.name || !md.namespace || !md.uid) continue;
          pods.push({
            namespace: md.namespace,
            uid: md.uid,
            name: md.name,
            phase: pod.status?.phase ?? null,
            nodeName: pod.spec?.nodeName ?? null,
            containers: podContainers(pod, cache),
            owners: md.ownerReferences,
          });
        }
      },
      () => (pods.length = 0),
    ),
  );

  // Owner indexes: a failure here degrades owner resolution (with a warning), never the inventory.
  const index = async (kind: "ReplicaSet" | "Job"): Promise<{ index: OwnerIndex | null; pages: number }> => {
    const idx: OwnerIndex = new Map();
    try {
      const pages = await listAll<{ metadata?: { name?: string; namespace?: string; ownerReferences?: V1OwnerReference[] } }>(
        (cont) =>
          kind === "ReplicaSet"
            ? apps.listReplicaSetForAllNamespaces({ limit, _continue: cont })
            : batch.listJobForAllNamespaces({ limit, _continue: cont }),
        (items) => {
          for (const o of items) {
            const md = o.metadata;
            if (md?.name && md.namespace) idx.set(ownerKey(md.namespace, md.name), controllerOf(md.ownerReferences));
          }
        },
        () => idx.clear(),
      );
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

  const workloads = new Map<string, WorkloadRecord>();
  const unresolved = { ReplicaSet: 0, Job: 0 };
  const digests = new Set<string>();
  const records: PodRecord[] = pods.map(({ owners, ...p }) => {
    const r = resolvePodWorkload(p.namespace, p.name, owners, rs.index ?? new Map(), jobs.index ?? new Map());
    if (r.unresolved && (r.unresolved === "ReplicaSet" ? rs.index : jobs.index)) unresolved[r.unresolved]++;
    const key = `${p.namespace}/${r.workload.kind}/${r.workload.name}`;
    if (!workloads.has(key)) {
      const ownerRef = r.workload.kind === "Other" ? owners?.find((o) => o.kind === r.workload.ownerKind) : undefined;
      workloads.set(key, {
        namespace: p.namespace,
        kind: r.workload.kind,
        name: r.workload.name,
        ...(r.workload.ownerKind ? { ownerKind: r.workload.ownerKind } : {}),
        ...(ownerRef?.apiVersion ? { ownerApiVersion: ownerRef.apiVersion } : {}),
      });
    }
    for (const c of p.containers) {
      stats.containers++;
      if (c.digest) digests.add(c.digest);
      if (c.needsResolution) stats.containersNeedingResolution++;
    }
    return { ...p, workload: r.workload };
  });
  for (const kind of ["ReplicaSet", "Job"] as const) {
    if (unresolved[kind]) warnings.push(`${unresolved[kind]} pod(s) name a ${kind} that no longer exists; reported under the ${kind}`);
  }
  stats.pods = records.length;
  stats.distinctDigests = digests.size;
  stats.durationMs = Date.now() - started;
  return {
    cluster: clusterRecordOf(target),
    collectedAt: now(),
    error: null,
    namespaces,
    workloads: [...workloads.values()],
    pods: records,
    warnings,
    stats,
  };
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
  return mapConcurrent(targets, opts.concurrency ?? 4, (t) => inventoryCluster(t, opts));
}
