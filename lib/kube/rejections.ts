import "server-only";
import { mapLimit } from "@/lib/concurrency";
import type { CoreV1Event, EventsV1Event } from "@kubernetes/client-node";
import type { KubeTarget } from "@/lib/kube/clusters";
import {
  classifyKubeError,
  createKubeClients,
  listAll,
  toClusterError,
  KubeRequestError,
  type KubeClients,
} from "@/lib/kube/client";
import { parseAdmissionDenial } from "@/lib/kube/admission-denial";
import { clusterRecordOf, DEFAULT_PAGE_SIZE } from "@/lib/kube/inventory";
import { controllerOf, workloadOfOwner } from "@/lib/kube/owners";
import type { AdmissionRejectionRecord, ClusterRejections, WorkloadRef } from "@/lib/kube/types";
import { storable } from "@/lib/text";

export interface RejectionOptions {
  pageSize?: number;
  timeoutMs?: number;
  now?: () => Date;
}

/** An Event read through either API, reduced to what a rejection needs. */
interface DenialEvent {
  uid: string;
  namespace: string;
  involved: { kind: string; name: string };
  message: string;
  count: number;
  firstSeen: Date;
  lastSeen: Date;
  api: AdmissionRejectionRecord["eventApi"];
}

const asDate = (v: Date | string | undefined | null): Date | undefined => {
  if (!v) return undefined;
  const d = v instanceof Date ? v : new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d;
};

function span(candidates: (Date | string | undefined | null)[]): { first: Date; last: Date } | null {
  const dates = candidates.map(asDate).filter((d): d is Date => d !== undefined);
  if (!dates.length) return null;
  const times = dates.map((d) => d.getTime());
  return { first: new Date(Math.min(...times)), last: new Date(Math.max(...times)) };
}

function fromCore(e: CoreV1Event): DenialEvent | null {
  const uid = e.metadata?.uid;
  const namespace = e.metadata?.namespace ?? e.involvedObject?.namespace;
  if (!uid || !namespace || !e.message) return null;
  // creationTimestamp only when the Event carries no time of its own: it is when the object was
  // written, which for an aggregated event is its first occurrence at best.
  const s = span([e.firstTimestamp, e.lastTimestamp, e.eventTime, e.series?.lastObservedTime]) ?? span([e.metadata?.creationTimestamp]);
  const first = asDate(e.firstTimestamp) ?? asDate(e.eventTime) ?? s?.first ?? new Date(0);
  return {
    uid,
    namespace,
    involved: { kind: e.involvedObject?.kind ?? "", name: e.involvedObject?.name ?? "" },
    // Event messages quote what the object's author wrote (an image with U+0000): kept in PostgreSQL
    message: storable(e.message),
    count: Math.max(1, e.count ?? 0, e.series?.count ?? 0),
    firstSeen: first,
    lastSeen: s && s.last > first ? s.last : first,
    api: "core/v1",
  };
}

function fromEventsV1(e: EventsV1Event): DenialEvent | null {
  const uid = e.metadata?.uid;
  const namespace = e.metadata?.namespace ?? e.regarding?.namespace;
  if (!uid || !namespace || !e.note) return null;
  const s = span([e.deprecatedFirstTimestamp, e.deprecatedLastTimestamp, e.eventTime, e.series?.lastObservedTime]) ?? span([e.metadata?.creationTimestamp]);
  const first = asDate(e.deprecatedFirstTimestamp) ?? asDate(e.eventTime) ?? s?.first ?? new Date(0);
  return {
    uid,
    namespace,
    involved: { kind: e.regarding?.kind ?? "", name: e.regarding?.name ?? "" },
    message: storable(e.note),
    count: Math.max(1, e.deprecatedCount ?? 0, e.series?.count ?? 0),
    firstSeen: first,
    lastSeen: s && s.last > first ? s.last : first,
    api: "events.k8s.io/v1",
  };
}

/**
 * Admission rejections of one cluster: Warning Events, read through both core/v1 and
 * events.k8s.io/v1 (the same Event is served by both; results are merged by uid, so a cluster that
 * grants only one of the two APIs still works), whose message is an admission webhook's denial.
 * The owning workload is resolved from the Event's object (ReplicaSet → Deployment, Job → CronJob)
 * with one GET per distinct object. Never throws for the cluster's own failures.
 */
export async function listAdmissionRejections(target: KubeTarget, opts: RejectionOptions = {}): Promise<ClusterRejections> {
  const now = opts.now ?? (() => new Date());
  const cluster = clusterRecordOf(target);
  const failed = (err: KubeRequestError): ClusterRejections => ({ cluster, collectedAt: now(), error: toClusterError(err, now()), rejections: [], warnings: [] });
  if (!target.kubeConfig || target.configError) return failed(new KubeRequestError("config", target.configError ?? "no client configuration"));
  let clients: KubeClients;
  try {
    clients = createKubeClients(target.kubeConfig, { timeoutMs: opts.timeoutMs });
  } catch (err) {
    return failed(new KubeRequestError("config", (err as Error).message));
  }
  try {
    const limit = opts.pageSize ?? DEFAULT_PAGE_SIZE;
    const found = new Map<string, DenialEvent>();
    const keep = (e: DenialEvent | null) => {
      if (e && !found.has(e.uid) && parseAdmissionDenial(e.message)) found.set(e.uid, e);
    };
    // Denials are always Warning events; the field selector keeps Normal events off the wire.
    const fieldSelector = "type=Warning";
    const results = await Promise.allSettled([
      listAll(
        (cont) => clients.core.listEventForAllNamespaces({ fieldSelector, limit, _continue: cont }),
        (items) => items.forEach((e) => keep(fromCore(e))),
      ),
      listAll(
        (cont) => clients.events.listEventForAllNamespaces({ fieldSelector, limit, _continue: cont }),
        (items) => items.forEach((e) => keep(fromEventsV1(e))),
      ),
    ]);
    const errors = results
      .map((r, i) => (r.status === "rejected" ? classifyKubeError(r.reason, i === 0 ? "list events" : "list events.k8s.io events", target.server) : null))
      .filter((e): e is KubeRequestError => e !== null);
    if (errors.length === 2) return failed(errors[0]!);
    const warnings = errors.map((e) => `${e.message}; rejections were read through the other Events API`);

    const workloads = await resolveWorkloads(clients, [...found.values()], warnings, target.server);
    const rejections: AdmissionRejectionRecord[] = [];
    for (const e of found.values()) {
      const d = parseAdmissionDenial(e.message)!;
      const w = workloads.get(`${e.namespace}/${e.involved.kind}/${e.involved.name}`) ?? null;
      rejections.push({
        cluster: cluster.name,
        namespace: e.namespace,
        workloadKind: w?.kind ?? null,
        workloadName: w?.name ?? null,
        image: d.images[0] ?? null,
        images: d.images,
        controller: d.controller,
        webhook: d.webhook,
        policyName: d.policyNames[0] ?? null,
        policyNames: d.policyNames,
        message: d.message,
        eventUid: e.uid,
        firstSeen: e.firstSeen,
        lastSeen: e.lastSeen,
        count: e.count,
        involvedObject: e.involved,
        eventApi: e.api,
      });
    }
    rejections.sort((a, b) => b.lastSeen.getTime() - a.lastSeen.getTime() || a.eventUid.localeCompare(b.eventUid));
    return { cluster, collectedAt: now(), error: null, rejections, warnings };
  } catch (err) {
    return failed(classifyKubeError(err, "list events", target.server));
  } finally {
    await clients.close();
  }
}

/** The workload behind each Event's object; intermediate ReplicaSets and Jobs are read once each. */
async function resolveWorkloads(
  { apps, batch }: KubeClients,
  events: DenialEvent[],
  warnings: string[],
  server: string | null,
): Promise<Map<string, WorkloadRef>> {
  const out = new Map<string, WorkloadRef>();
  const lookups: { key: string; namespace: string; kind: "ReplicaSet" | "Job"; name: string }[] = [];
  for (const e of events) {
    const key = `${e.namespace}/${e.involved.kind}/${e.involved.name}`;
    if (out.has(key) || lookups.some((l) => l.key === key) || !e.involved.name) continue;
    if (e.involved.kind === "ReplicaSet" || e.involved.kind === "Job") {
      lookups.push({ key, namespace: e.namespace, kind: e.involved.kind, name: e.involved.name });
    } else if (e.involved.kind === "Pod") {
      out.set(key, { kind: "Pod", name: e.involved.name });
    } else {
      out.set(key, workloadOfOwner({ kind: e.involved.kind, name: e.involved.name }));
    }
  }
  let failures = 0;
  let lastError = "";
  await mapLimit(lookups, 8, async (l) => {
    try {
      const obj =
        l.kind === "ReplicaSet"
          ? await apps.readNamespacedReplicaSet({ namespace: l.namespace, name: l.name })
          : await batch.readNamespacedJob({ namespace: l.namespace, name: l.name });
      const parent = controllerOf(obj.metadata?.ownerReferences);
      out.set(l.key, parent ? workloadOfOwner(parent) : { kind: l.kind, name: l.name });
    } catch (err) {
      // Deleted since (a rolled-back ReplicaSet) or not readable: report the object itself.
      const e = classifyKubeError(err, `read ${l.kind} ${l.namespace}/${l.name}`, server);
      if (e.kind !== "not_found") {
        failures++;
        lastError = e.message;
      }
      out.set(l.key, { kind: l.kind, name: l.name });
    }
  });
  if (failures) warnings.push(`${failures} owner lookup(s) failed (last: ${lastError}); those rejections name the ReplicaSet/Job`);
  return out;
}

/** Rejections of several clusters concurrently; one cluster's failure never stops the others. */
export async function listAdmissionRejectionsForClusters(
  targets: readonly KubeTarget[],
  opts: RejectionOptions & { concurrency?: number } = {},
): Promise<ClusterRejections[]> {
  return mapLimit(targets, opts.concurrency ?? 4, (t) => listAdmissionRejections(t, opts));
}
