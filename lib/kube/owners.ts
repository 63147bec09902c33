// Owner resolution (pure): which workload a pod belongs to, following the controller chain the
// built-in controllers create (Deployment → ReplicaSet → Pod, CronJob → Job → Pod).
import type { WorkloadKind, WorkloadRef } from "@/lib/kube/types";

/** The fields of a metadata.ownerReferences entry that matter here. */
export interface OwnerReference {
  apiVersion?: string;
  kind: string;
  name: string;
  controller?: boolean;
}

/** The managing controller: the reference with controller=true, else the first one. */
export function controllerOf(refs: readonly OwnerReference[] | null | undefined): OwnerReference | null {
  if (!refs?.length) return null;
  return refs.find((r) => r.controller) ?? refs[0] ?? null;
}

const BUILT_IN: Record<string, { group: string; kind: WorkloadKind }> = {
  Deployment: { group: "apps", kind: "Deployment" },
  StatefulSet: { group: "apps", kind: "StatefulSet" },
  DaemonSet: { group: "apps", kind: "DaemonSet" },
  ReplicaSet: { group: "apps", kind: "ReplicaSet" },
  ReplicationController: { group: "", kind: "ReplicationController" },
  Job: { group: "batch", kind: "Job" },
  CronJob: { group: "batch", kind: "CronJob" },
};

function groupOf(apiVersion: string | undefined): string {
  if (!apiVersion) return "";
  const slash = apiVersion.indexOf("/");
  return slash < 0 ? "" : apiVersion.slice(0, slash);
}

/** The workload an owner reference names directly (no chain): built-in kinds, else `Other`. */
export function workloadOfOwner(owner: OwnerReference): WorkloadRef {
  const builtIn = BUILT_IN[owner.kind];
  // Only the built-in group counts: a CRD may well call itself "Deployment" in its own group.
  if (builtIn && (owner.apiVersion === undefined || groupOf(owner.apiVersion) === builtIn.group)) {
    return { kind: builtIn.kind, name: owner.name };
  }
  return { kind: "Other", name: owner.name, ownerKind: owner.kind };
}

/**
 * For each ReplicaSet (or Job) by `namespace/name`: its own controller, or null when it has none.
 * Built from one list per cluster, so resolving 20,000 pods costs no extra requests.
 */
export type OwnerIndex = Map<string, OwnerReference | null>;

export const ownerKey = (namespace: string, name: string) => `${namespace}/${name}`;

export interface ResolvedWorkload {
  workload: WorkloadRef;
  /** Set when the intermediate ReplicaSet/Job was not in the index (deleted meanwhile, or not readable). */
  unresolved?: "ReplicaSet" | "Job";
}

/**
 * The workload a pod belongs to. ReplicaSet → its Deployment (or other controller), Job → its
 * CronJob, StatefulSet / DaemonSet / ReplicationController as themselves; a pod without a controller
 * (or a static pod mirrored by its Node) is its own workload of kind `Pod`.
 */
export function resolvePodWorkload(
  namespace: string,
  podName: string,
  ownerReferences: readonly OwnerReference[] | null | undefined,
  replicaSets: OwnerIndex,
  jobs: OwnerIndex,
): ResolvedWorkload {
  const owner = controllerOf(ownerReferences);
  if (!owner || (owner.kind === "Node" && groupOf(owner.apiVersion) === "")) {
    return { workload: { kind: "Pod", name: podName } };
  }
  const direct = workloadOfOwner(owner);
  if (direct.kind === "ReplicaSet" || direct.kind === "Job") {
    const index = direct.kind === "ReplicaSet" ? replicaSets : jobs;
    const key = ownerKey(namespace, owner.name);
    if (!index.has(key)) return { workload: direct, unresolved: direct.kind };
    const parent = index.get(key);
    return { workload: parent ? workloadOfOwner(parent) : direct };
  }
  return { workload: direct };
}
