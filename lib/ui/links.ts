import { BUCKETS } from "@/lib/coverage/compute";
import type { ListedBucket, PolicyListVerdict, ScanItemStatusDto } from "@/lib/dto/drilldown";
import type { ImageVerdictFilterDto, VerdictValueDto } from "@/lib/dto/read";
import { toSearch } from "@/lib/ui/fetch-json";

/**
 * The one place that spells the dashboard's addresses: every tile, count and row links to the page or
 * filtered list behind it through these, so a page's filters and its links cannot drift apart.
 * Filter names are the list pages' query parameters (the same as their API's).
 */
const seg = encodeURIComponent;

export const links = {
  cluster: (cluster: string) => `/clusters/${seg(cluster)}`,
  /** A namespace's page; `page` a page of its Workloads card (`range` its trend's range, kept). */
  namespace: (cluster: string, namespace: string, f: { page?: number; range?: string } = {}) =>
    `/clusters/${seg(cluster)}/${seg(namespace)}${toSearch({ range: f.range, page: f.page && f.page > 1 ? f.page : undefined })}`,
  /** A workload as "Kind/name" (bare pods are "Pod/<pod name>"); `page` a page of its pods. */
  workload: (cluster: string, namespace: string, workload: string, f: { page?: number } = {}) => {
    const [kind = "Pod", ...rest] = workload.split("/");
    return `/clusters/${seg(cluster)}/${seg(namespace)}/${seg(kind)}/${seg(rest.join("/"))}${toSearch({ page: f.page && f.page > 1 ? f.page : undefined })}`;
  },
  container: (id: string) => `/containers/${seg(id)}`,
  image: (id: string) => `/images/${seg(id)}`,
  policy: (id: string) => `/policies/${seg(id)}`,
  /** A key or keyless authority on the Keys page (its row carries this anchor). */
  authority: (name: string) => `/keys#${authorityAnchor(name)}`,
  /**
   * The running containers in coverage buckets (the lists behind the bucket counts of the overview and
   * the drill-down: the same containers as the count), in a cluster or namespace.
   */
  containers: (f: { cluster?: string; namespace?: string; bucket: readonly ListedBucket[]; reason?: string; page?: number }) =>
    `/containers${toSearch({ cluster: f.cluster, namespace: f.namespace, bucket: f.bucket.join(","), reason: f.reason, page: f.page && f.page > 1 ? f.page : undefined })}`,
  /** The stale containers of one stale group (the overview's stale card): those its count counts. */
  staleGroup: (reason: string): string => links.containers({ bucket: ["stale"], reason }),
  /** Every running container (in a cluster or namespace): the list behind a total, every bucket. */
  allContainers: (f: { cluster?: string; namespace?: string } = {}) => links.containers({ ...f, bucket: BUCKETS }),
  /**
   * The running containers whose verdict under a policy (its id) is one of `verdict` (default: every
   * verdict but unmatched, the containers it evaluated; `pending`: in its scope, no verdict yet): the
   * list behind a policy's counts.
   */
  policyContainers: (policyId: string, f: { cluster?: string; namespace?: string; verdict?: readonly PolicyListVerdict[]; page?: number } = {}) =>
    `/containers${toSearch({ cluster: f.cluster, namespace: f.namespace, policy: policyId, verdict: f.verdict?.join(","), page: f.page && f.page > 1 ? f.page : undefined })}`,
  /**
   * The running containers verified through one key or keyless authority (`ref` its row's on the Keys
   * page): the list behind its usage figures.
   */
  signerContainers: (ref: string, f: { cluster?: string; namespace?: string; page?: number } = {}) =>
    `/containers${toSearch({ cluster: f.cluster, namespace: f.namespace, signer: ref, page: f.page && f.page > 1 ? f.page : undefined })}`,
  /** The list behind a count of containers in a coverage bucket: those very containers. */
  bucket: (bucket: ListedBucket, f: { cluster?: string; namespace?: string } = {}): string => links.containers({ ...f, bucket: [bucket] }),
  /** The running images, filtered; with `policy` (a policy's name), `verdict` is the verdict under that policy. */
  images: (f: { cluster?: string; namespace?: string; policy?: string; verdict?: ImageVerdictFilterDto; registry?: string; signer?: string; q?: string } = {}) =>
    `/images${toSearch({ cluster: f.cluster, namespace: f.namespace, policy: f.policy, verdict: f.verdict, registry: f.registry, signer: f.signer, q: f.q })}`,
  /**
   * Admission rejections, filtered; `workload` a workload's name (objects named after it), `policy` a policy's name, `key` a key's (the rejections under the
   * policies trusting it); `days` the period (default 30), `day` one UTC day ("YYYY-MM-DD", a bar of the per-day chart).
   */
  rejections: (f: { cluster?: string; namespace?: string; workload?: string; controller?: string; policy?: string; key?: string; q?: string; days?: number; day?: string } = {}) =>
    `/rejections${toSearch({ cluster: f.cluster, namespace: f.namespace, workload: f.workload, controller: f.controller, policy: f.policy, key: f.key, q: f.q, days: f.days, day: f.day })}`,
  /**
   * Audit events, filtered; `key` a key's name (the events that name it and the changes of the policies
   * trusting it); `policy` a policy's name, `policyVersion` one of its versions (the policy page's counts).
   */
  audit: (f: { cluster?: string; imageDigest?: string; kind?: string; key?: string; policy?: string; policyVersion?: number; verdict?: string } = {}) =>
    `/audit${toSearch({ cluster: f.cluster, imageDigest: f.imageDigest, kind: f.kind, key: f.key, policy: f.policy, policyVersion: f.policyVersion, verdict: f.verdict })}`,
  scans: () => "/scans",
  /**
   * A scan's items (its images) with their status, `status` some of pending / done / error (default
   * all): the list behind its progress, "done" being the settled items (done or error).
   */
  scanItems: (scanId: string, f: { status?: readonly ScanItemStatusDto[]; page?: number } = {}) =>
    `/scans/${seg(scanId)}${toSearch({ status: f.status?.join(","), page: f.page && f.page > 1 ? f.page : undefined })}`,
};

/** The HTML id of an authority's row on the Keys page. */
export function authorityAnchor(name: string): string {
  return `authority-${name.replace(/[^A-Za-z0-9_-]/g, "_")}`;
}
