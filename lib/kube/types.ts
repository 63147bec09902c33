// Output of lib/kube: plain data that maps one to one onto the Prisma inventory models
// (Cluster → Namespace → Workload → Pod → Container, and AdmissionRejection). Persisting it is the
// scan pipeline's job; nothing here touches the database.
import type {
  AdmissionController,
  ClusterSource,
  ContainerKind,
  DigestSource,
  WorkloadKind,
} from "@/lib/generated/prisma/enums";

export type { AdmissionController, ClusterSource, ContainerKind, DigestSource, WorkloadKind };

/** Why a cluster could not be read. `config`: the kubeconfig entry itself is unusable. */
export type KubeErrorKind =
  | "config"
  | "unreachable"
  | "timeout"
  | "tls"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "server"
  | "other";

/** A cluster's failure, recorded instead of thrown (→ Cluster.lastError / lastErrorAt). */
export interface ClusterError {
  kind: KubeErrorKind;
  /** One line, safe to show: never contains credentials. */
  message: string;
  /** HTTP status when the API server answered. */
  status?: number;
  at: Date;
}

/** → Cluster (name, source, context, server). */
export interface ClusterRecord {
  /** Unique name: the kubeconfig context name, or the in-cluster name. */
  name: string;
  source: ClusterSource;
  context: string | null;
  server: string | null;
}

/** → Namespace (clusterId, name, labels). */
export interface NamespaceRecord {
  name: string;
  uid: string | null;
  labels: Record<string, string>;
}

/** → Workload, unique by (namespace, kind, name). A bare pod is its own workload of kind `Pod`. */
export interface WorkloadRecord {
  namespace: string;
  kind: WorkloadKind;
  name: string;
  /** For kind `Other`: the owner's real kind (e.g. `Rollout`); not persisted by the Prisma model. */
  ownerKind?: string;
  ownerApiVersion?: string;
}

/** The (namespace, kind, name) key of a workload, as pods and rejections refer to it. */
export interface WorkloadRef {
  kind: WorkloadKind;
  name: string;
  ownerKind?: string;
}

/** A parsed image reference, with Docker Hub short names expanded (`nginx` → index.docker.io/library/nginx, as lib/registry/reference.ts does). */
export interface ImageReference {
  /** Registry host (with port), e.g. `index.docker.io`, `ghcr.io`, `localhost:5000`. */
  registry: string;
  /** Repository path, e.g. `library/nginx`. */
  repository: string;
  /** The tag as written, or `latest` when neither a tag nor a digest was written. */
  tag: string | null;
  /** The digest as written in the reference (`…@sha256:…`), if any. */
  digest: string | null;
  /** `registry/repository` — the name registries and evidence are keyed by. */
  name: string;
}

/**
 * Where a container's digest came from: `status` = the runtime's imageID (what actually ran),
 * `reference` = the digest pinned in the pod spec (the runtime can only run that), `registry` = set
 * by the later resolution step (never by lib/kube).
 */
export type DigestOrigin = "status" | "reference" | "registry";

/** → Container (kind, name, imageRef, digest, digestSource). */
export interface ContainerRecord {
  kind: ContainerKind;
  name: string;
  /** The image reference exactly as written in the pod spec. */
  imageRef: string;
  /** `imageRef` parsed and normalized; null when it is not a valid reference. */
  image: ImageReference | null;
  /** `sha256:<hex>` manifest digest, or null when not known yet. */
  digest: string | null;
  digestSource: DigestSource;
  digestOrigin: DigestOrigin | null;
  /**
   * True when no manifest digest is known: the discovery step must resolve `image` (its tag) through
   * the registry and then record digestSource `resolved`.
   */
  needsResolution: boolean;
  /** The runtime's raw status imageID (`docker-pullable://…`, `repo@sha256:…`, `sha256:…`), if any. */
  imageID: string | null;
  /** Repository the runtime reports in imageID (may differ from `image` when pulled through a mirror). */
  observedRepository: string | null;
}

/** → Pod (uid, name, phase, nodeName) with its containers; `workload` → Pod.workloadId. */
export interface PodRecord {
  namespace: string;
  uid: string;
  name: string;
  phase: string | null;
  nodeName: string | null;
  workload: WorkloadRef;
  containers: ContainerRecord[];
  /** Names of the pod's `spec.imagePullSecrets` (Secrets in its namespace), at most 32. */
  pullSecrets: string[];
  /** `spec.serviceAccountName` (its imagePullSecrets count too), or null. */
  serviceAccount: string | null;
}

/** Where the pods running one image take their pull credentials from, per cluster and namespace (lib/kube/pull-secrets.ts). */
export interface PullSecretSource {
  cluster: string;
  namespace: string;
  /** `spec.imagePullSecrets` names of the pods, in order. */
  secrets: readonly string[];
  /** `spec.serviceAccountName` of the pods (null: `default`). */
  serviceAccounts: readonly (string | null)[];
}

/** Requests made for one cluster, for progress and for checking that pagination happened. */
export interface InventoryStats {
  namespacePages: number;
  podPages: number;
  replicaSetPages: number;
  jobPages: number;
  pods: number;
  containers: number;
  distinctDigests: number;
  containersNeedingResolution: number;
  durationMs: number;
}

/** The inventory of one cluster. `error` set ⇒ the lists are empty and the cluster is to be marked failed. */
export interface ClusterInventory {
  cluster: ClusterRecord;
  collectedAt: Date;
  error: ClusterError | null;
  namespaces: NamespaceRecord[];
  workloads: WorkloadRecord[];
  pods: PodRecord[];
  /** Non-fatal problems (e.g. ReplicaSets not readable: owners fall back to the ReplicaSet). */
  warnings: string[];
  stats: InventoryStats;
  /**
   * Where each list of a complete inventory was taken (every list read to its end, no warning):
   * a later inventory may prove nothing changed since by watching from there (listsUnchangedSince).
   */
  listVersions?: ListVersions;
}

/** The resourceVersion of each list an inventory was made of, and the API server it came from. */
export interface ListVersions {
  server: string | null;
  namespaces: string;
  pods: string;
  replicasets: string;
  jobs: string;
}

/** → AdmissionRejection. */
export interface AdmissionRejectionRecord {
  cluster: string;
  namespace: string;
  workloadKind: WorkloadKind | null;
  workloadName: string | null;
  /** First image named in the denial (→ AdmissionRejection.image); all of them in `images`. */
  image: string | null;
  images: string[];
  controller: AdmissionController;
  webhook: string | null;
  /** First policy named in the denial (→ AdmissionRejection.policyName); all of them in `policyNames`. */
  policyName: string | null;
  policyNames: string[];
  /** The denial as the webhook wrote it (from `admission webhook "…"` on). */
  message: string;
  eventUid: string;
  firstSeen: Date;
  lastSeen: Date;
  count: number;
  /** The object the Event is about (the ReplicaSet, Job, StatefulSet, DaemonSet or Pod that failed to create pods). */
  involvedObject: { kind: string; name: string };
  /** Which API the Event was read through (the same Event is visible through both). */
  eventApi: "core/v1" | "events.k8s.io/v1";
}

export interface ClusterRejections {
  cluster: ClusterRecord;
  collectedAt: Date;
  error: ClusterError | null;
  rejections: AdmissionRejectionRecord[];
  warnings: string[];
}
