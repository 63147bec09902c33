import "server-only";
import type { Db } from "@/lib/db/client";
import { coverage, FIGURES_SELECT, overallVerdict, percent, pickFigures } from "@/lib/coverage/compute";
import { cursorPages, withSnapshot } from "@/lib/db/cursor";
import { Prisma } from "@/lib/generated/prisma/client";
import {
  clusterDetailDto,
  containerDetailDto,
  containerListDto,
  EVALUATED_VERDICTS,
  namespaceWorkloadsDto,
  workloadDetailDto,
  type ClusterDetailDto,
  type ContainerDetailDto,
  type ContainerListDto,
  type ContainerListQuery,
  type ContainerRowDto,
  type ListedBucket,
  type NamespaceWorkloadsDto,
  type WorkloadDetailDto,
} from "@/lib/dto/drilldown";
import type { VerdictValueDto } from "@/lib/dto/read";
import { policySpecSchema } from "@/lib/policy/schema";
import { awaitsVerdict } from "@/lib/policy/scope";
import { tagOf } from "@/lib/registry/reference";
import { rejectionsWhere } from "@/lib/data/rejections";
import { rejectionQuery } from "@/lib/dto/dashboard";
import { authorityUsage } from "@/lib/trust/inventory";

/**
 * Read models of the drill-down: a cluster (trend, namespaces, errors), a namespace's workloads with
 * their containers, images and verdicts per policy (failing first), one workload, one container.
 * Every query starts from an indexed key (cluster name, namespace id, pod namespace, container id) and
 * is bounded, so a page costs the same whatever the size of the fleet.
 */

/** Failing first: the order of a container's overall verdict in drill-down lists. */
const RANK: Record<VerdictValueDto, number> = { failed: 0, unsigned: 1, error: 2, unmatched: 3, verified: 4 };
export const verdictRank = (v: VerdictValueDto): number => RANK[v];

const containerInclude = {
  image: { select: { id: true, registry: true, repository: true, verdict: true, signers: true, discovery: true, evaluatedAt: true } },
  verdicts: { include: { policy: { select: { name: true, mode: true } } }, orderBy: { policy: { name: "asc" } } },
} satisfies Prisma.ContainerInclude;
type ContainerWithVerdicts = Prisma.ContainerGetPayload<{ include: typeof containerInclude }>;

/**
 * When a verdict was last evaluated: its row's `evaluatedAt` (written with its outcome) or, while its
 * container runs, its image's (`Image.evaluatedAt`: every evaluation of an image confirms its running
 * containers' verdicts without rewriting unchanged rows; ADR 0025), whichever is later.
 */
export function verdictEvaluatedAt(verdictAt: Date, imageAt: Date | null | undefined, running: boolean): Date {
  return running && imageAt && imageAt > verdictAt ? imageAt : verdictAt;
}

/** The same in SQL, for rows of running containers (`v` the verdict, `i` its container's image). */
export const VERDICT_EVALUATED_AT_SQL = Prisma.sql`GREATEST(v."evaluatedAt", i."evaluatedAt")`;

function containerRow(c: ContainerWithVerdicts, pod: string, running: boolean): ContainerRowDto {
  const verdicts = c.verdicts.map((v) => ({
    policyId: v.policyId,
    policy: v.policy.name,
    mode: v.policy.mode,
    policyVersion: v.policyVersion,
    verdict: v.value,
    reasons: ((v.reasons as { message?: string }[] | null) ?? []).map((r) => r.message ?? "").filter(Boolean),
    evaluatedAt: verdictEvaluatedAt(v.evaluatedAt, c.image?.evaluatedAt, running).toISOString(),
    changedAt: v.changedAt.toISOString(),
  }));
  return {
    id: c.id,
    name: c.name,
    kind: c.kind,
    pod,
    imageRef: c.imageRef,
    tag: tagOf(c.imageRef),
    digest: c.digest,
    imageId: c.image?.id ?? null,
    image: c.image ? `${c.image.registry}/${c.image.repository}` : null,
    verdicts,
    worst: overallVerdict(verdicts.map((v) => v.verdict)),
  };
}

const workloadName = (pod: { name: string; workload: { kind: string; name: string } | null }) =>
  pod.workload ? `${pod.workload.kind}/${pod.workload.name}` : `Pod/${pod.name}`;

const byWorst = (a: { worst: VerdictValueDto }, b: { worst: VerdictValueDto }) => RANK[a.worst] - RANK[b.worst];

/** One cluster: its latest coverage, trend, namespaces (worst first), recent scans and their errors. */
export async function getClusterDetail(db: Db, cluster: string, opts: { trendDays?: number; now?: Date } = {}): Promise<ClusterDetailDto | null> {
  const c = await db.cluster.findUnique({ where: { name: cluster } });
  if (!c) return null;
  const now = opts.now ?? new Date();
  const since = new Date(now.getTime() - (opts.trendDays ?? 30) * 86_400_000);
  const [trend, scans, rejections] = await Promise.all([
    db.coverageSnapshot.findMany({
      where: { scope: "cluster", clusterId: c.id, takenAt: { gte: since } },
      orderBy: { takenAt: "asc" },
      select: { takenAt: true, ...FIGURES_SELECT },
      take: 2000,
    }),
    db.scan.findMany({
      where: { OR: [{ clusterId: c.id }, { clusterId: null }] },
      orderBy: { createdAt: "desc" },
      take: 5,
      select: { id: true, status: true, trigger: true, createdAt: true, finishedAt: true, errors: true },
    }),
    db.admissionRejection.count({ where: { clusterId: c.id, lastSeen: { gte: new Date(now.getTime() - 30 * 86_400_000) } } }),
  ]);
  const latest =
    trend.at(-1) ??
    (await db.coverageSnapshot.findFirst({ where: { scope: "cluster", clusterId: c.id }, orderBy: { takenAt: "desc" }, select: { takenAt: true, ...FIGURES_SELECT } }));
  const namespaces = latest
    ? await db.coverageSnapshot.findMany({ where: { scope: "namespace", clusterId: c.id, takenAt: latest.takenAt }, select: { namespace: true, ...FIGURES_SELECT } })
    : [];
  return clusterDetailDto.parse({
    cluster: c.name,
    server: c.server,
    enabled: c.enabled,
    lastInventoryAt: c.lastInventoryAt?.toISOString() ?? null,
    lastError: c.lastError,
    lastErrorAt: c.lastErrorAt?.toISOString() ?? null,
    latest: latest ? { takenAt: latest.takenAt.toISOString(), ...pickFigures(latest) } : null,
    trend: trend.map((t) => ({ takenAt: t.takenAt.toISOString(), ...pickFigures(t) })),
    namespaces: namespaces
      .map((n) => ({ namespace: n.namespace ?? "", ...pickFigures(n), coveragePct: coverage(n) }))
      .sort((a, b) => (a.coveragePct === null ? 1 : 0) - (b.coveragePct === null ? 1 : 0) || (a.coveragePct ?? 0) - (b.coveragePct ?? 0) || a.namespace.localeCompare(b.namespace)),
    scans: scans.map((s) => ({
      id: s.id,
      status: s.status,
      trigger: s.trigger,
      createdAt: s.createdAt.toISOString(),
      finishedAt: s.finishedAt?.toISOString() ?? null,
      errors: scanErrors(s.errors, c.name),
    })),
    rejections,
  });
}

/** A scan's recorded errors that concern this cluster (or the whole scan), as lines. */
function scanErrors(errors: unknown, cluster: string): string[] {
  if (!Array.isArray(errors)) return [];
  return errors
    .map((e): string | null => {
      if (typeof e === "string") return e;
      if (e && typeof e === "object") {
        const o = e as { cluster?: unknown; message?: unknown; error?: unknown; stage?: unknown };
        if (typeof o.cluster === "string" && o.cluster !== cluster) return null;
        const msg = typeof o.message === "string" ? o.message : typeof o.error === "string" ? o.error : JSON.stringify(e);
        return typeof o.stage === "string" ? `${o.stage}: ${msg}` : msg;
      }
      return null;
    })
    .filter((e): e is string => e !== null)
    .slice(0, 20);
}

/** Workloads a page of the namespace page's Workloads card lists. */
export const WORKLOADS_PER_PAGE = 50;
/** Containers listed under each workload there (the workload's page lists its pods and containers). */
export const CONTAINERS_PER_WORKLOAD = 20;

/**
 * A namespace's running workloads with their containers, images and verdicts per policy, failing
 * first (workloads by their worst container, then by name; containers by verdict, pod, name), a page
 * of workloads at a time: every workload is on one page, counted in `workloadsTotal`, and each lists
 * its first `perWorkload` containers of `containersTotal`. One statement: the namespace's running
 * containers with each one's worst verdict (lib/coverage/compute overallVerdict, in SQL: unmatched
 * only when no other), grouped, counted and paged, the page's containers joined to their image and
 * verdicts — a page's worth of rows, whatever the size of the namespace or the fleet.
 */
export async function getNamespaceWorkloads(
  db: Db,
  cluster: string,
  namespace: string,
  opts: { page?: number; pageSize?: number; perWorkload?: number } = {},
): Promise<NamespaceWorkloadsDto | null> {
  const ns = await db.namespace.findFirst({ where: { name: namespace, cluster: { name: cluster } }, select: { id: true } });
  if (!ns) return null;
  const page = Math.max(1, opts.page ?? 1);
  const pageSize = opts.pageSize ?? WORKLOADS_PER_PAGE;
  const perWorkload = opts.perWorkload ?? CONTAINERS_PER_WORKLOAD;
  const rows = await db.$queryRaw<NamespaceRow[]>`
    WITH cs AS MATERIALIZED (
      SELECT c.id, c.name, c.kind::text AS kind, c."imageRef", c.digest, c."imageId", p.name AS pod,
             w.kind::text AS "workloadKind", w.name AS "workloadName",
             CASE WHEN w.id IS NULL THEN 'Pod/' || p.name ELSE w.kind::text || '/' || w.name END AS workload,
             COALESCE((SELECT min(CASE v.value WHEN 'failed' THEN 0 WHEN 'unsigned' THEN 1 WHEN 'error' THEN 2 ELSE 4 END)
                       FROM "Verdict" v WHERE v."containerId" = c.id AND v.value <> 'unmatched'), 3) AS rank
      FROM "Container" c JOIN "Pod" p ON p.id = c."podId" LEFT JOIN "Workload" w ON w.id = p."workloadId"
      WHERE p."namespaceId" = ${ns.id}::uuid AND p."deletedAt" IS NULL
    ),
    ws AS (SELECT workload, min(rank) AS worst, count(*)::int AS n FROM cs GROUP BY workload),
    totals AS (SELECT count(*)::int AS workloads, COALESCE(sum(n), 0)::int AS containers FROM ws),
    pw AS (SELECT workload, worst, n, row_number() OVER (ORDER BY worst, workload) AS wk FROM ws ORDER BY worst, workload LIMIT ${pageSize} OFFSET ${(page - 1) * pageSize}),
    shown AS (
      SELECT cs.*, pw.wk, pw.n, row_number() OVER (PARTITION BY cs.workload ORDER BY cs.rank, cs.pod, cs.kind, cs.name, cs.id) AS k
      FROM cs JOIN pw USING (workload)
    )
    SELECT totals.workloads::int AS "workloadsTotal", totals.containers::int AS total,
           s.id::text, s.name, s.kind, s."imageRef", s.digest, s."imageId"::text AS "imageId", s.n::int AS "workloadContainers",
           s.pod, s."workloadKind", s."workloadName", s.workload, i.registry, i.repository,
           v."policyId"::text AS "policyId", pol.name AS policy, pol.mode::text AS mode, v."policyVersion", v.value::text AS verdict,
           v.reasons, ${VERDICT_EVALUATED_AT_SQL} AS "evaluatedAt", v."changedAt"
    FROM totals
    LEFT JOIN shown s ON s.k <= ${perWorkload}
    LEFT JOIN "Image" i ON i.id = s."imageId"
    LEFT JOIN "Verdict" v ON v."containerId" = s.id
    LEFT JOIN "Policy" pol ON pol.id = v."policyId"
    ORDER BY s.wk, s.k, pol.name`;
  // the rows come in page order: workloads worst first, then each one's containers worst first
  const groups = new Map<string, { workload: string; kind: string; name: string; containersTotal: number; containers: Map<string, ContainerRowDto> }>();
  for (const r of rows) {
    if (!r.id || !r.workload) continue;
    let g = groups.get(r.workload);
    if (!g) {
      g = { workload: r.workload, kind: r.workloadKind ?? "Pod", name: r.workloadName ?? r.pod, containersTotal: r.workloadContainers, containers: new Map() };
      groups.set(r.workload, g);
    }
    let c = g.containers.get(r.id);
    if (!c) {
      c = {
        id: r.id,
        name: r.name,
        kind: r.kind as ContainerRowDto["kind"],
        pod: r.pod,
        imageRef: r.imageRef,
        tag: tagOf(r.imageRef),
        digest: r.digest,
        imageId: r.imageId,
        image: r.registry && r.repository ? `${r.registry}/${r.repository}` : null,
        verdicts: [],
        worst: "unmatched",
      };
      g.containers.set(r.id, c);
    }
    if (r.policyId && r.verdict && r.policy)
      c.verdicts.push({
        policyId: r.policyId,
        policy: r.policy,
        mode: r.mode ?? "",
        policyVersion: r.policyVersion ?? 0,
        verdict: r.verdict as VerdictValueDto,
        reasons: ((r.reasons as { message?: string }[] | null) ?? []).map((x) => x.message ?? "").filter(Boolean),
        evaluatedAt: (r.evaluatedAt ?? new Date(0)).toISOString(),
        changedAt: (r.changedAt ?? new Date(0)).toISOString(),
      });
  }
  const workloads = [...groups.values()].map((g) => {
    const containers = [...g.containers.values()].map((c) => ({ ...c, worst: overallVerdict(c.verdicts.map((v) => v.verdict)) }));
    return { workload: g.workload, kind: g.kind, name: g.name, containersTotal: g.containersTotal, containers, worst: containers[0]!.worst };
  });
  return namespaceWorkloadsDto.parse({
    cluster,
    namespace,
    workloads,
    containers: rows[0]?.total ?? 0,
    workloadsTotal: rows[0]?.workloadsTotal ?? 0,
    page,
    pageSize,
  });
}

interface NamespaceRow {
  workloadsTotal: number;
  total: number;
  // null in the one row of a page past the last
  id: string | null;
  name: string;
  kind: string;
  imageRef: string;
  digest: string | null;
  imageId: string | null;
  workloadContainers: number;
  workload: string | null;
  pod: string;
  workloadKind: string | null;
  workloadName: string | null;
  registry: string | null;
  repository: string | null;
  policyId: string | null;
  policy: string | null;
  mode: string | null;
  policyVersion: number | null;
  verdict: string | null;
  reasons: unknown;
  evaluatedAt: Date | null;
  changedAt: Date | null;
}

const WORKLOAD_KINDS = ["Deployment", "StatefulSet", "DaemonSet", "CronJob", "Job", "ReplicaSet", "ReplicationController", "Pod", "Other"] as const;

/** Pods a page of the workload page lists. */
export const PODS_PER_PAGE = 100;

/**
 * One workload ("Kind/name"; a bare pod is "Pod/<name>"): its live pods and their containers, a page
 * of pods at a time (by name), with the workload's pods and containers all counted (the namespace
 * page's count of its containers).
 */
export async function getWorkloadDetail(
  db: Db,
  cluster: string,
  namespace: string,
  kind: string,
  name: string,
  now = new Date(),
  opts: { page?: number; pageSize?: number } = {},
): Promise<WorkloadDetailDto | null> {
  const page = Math.max(1, opts.page ?? 1);
  const pageSize = opts.pageSize ?? PODS_PER_PAGE;
  const ns = await db.namespace.findFirst({ where: { name: namespace, cluster: { name: cluster } }, select: { id: true, clusterId: true } });
  if (!ns) return null;
  const workloadKind = WORKLOAD_KINDS.find((k) => k === kind);
  if (!workloadKind) return null;
  // a workload row (bare pods may have one of kind Pod), else, for kind Pod, the bare pod itself
  const w = await db.workload.findFirst({ where: { namespaceId: ns.id, name, kind: workloadKind }, select: { id: true } });
  if (!w && kind !== "Pod") return null;
  const podWhere: Prisma.PodWhereInput = w ? { workloadId: w.id, deletedAt: null } : { namespaceId: ns.id, name, workloadId: null, deletedAt: null };
  const [pods, podsTotal, containersTotal, rejections] = await Promise.all([
    db.pod.findMany({
      where: podWhere,
      orderBy: [{ name: "asc" }, { id: "asc" }],
      skip: (page - 1) * pageSize,
      take: pageSize,
      include: { containers: { include: containerInclude, orderBy: [{ kind: "asc" }, { name: "asc" }] } },
    }),
    db.pod.count({ where: podWhere }),
    db.container.count({ where: { pod: podWhere } }),
    // what the page's link opens: the rejections list filtered to this workload, in its default period
    rejectionsWhere(db, rejectionQuery.parse({ cluster, namespace, workload: name }), now).then((where) => db.admissionRejection.count({ where })),
  ]);
  if (podsTotal === 0 && kind === "Pod") return null;
  return workloadDetailDto.parse({
    cluster,
    namespace,
    workload: `${kind}/${name}`,
    podsTotal,
    containersTotal,
    page,
    pageSize,
    pods: pods.map((p) => ({
      name: p.name,
      phase: p.phase,
      node: p.nodeName,
      containers: p.containers.map((c) => containerRow(c, p.name, true)).sort(byWorst),
    })),
    rejections,
  });
}

/** One container: where it runs, its image and signers, and its verdict per policy with reasons. */
export async function getContainerDetail(db: Db, id: string): Promise<ContainerDetailDto | null> {
  const c = await db.container.findUnique({
    where: { id },
    include: {
      ...containerInclude,
      pod: { select: { name: true, deletedAt: true, cluster: { select: { name: true } }, namespace: { select: { name: true } }, workload: { select: { kind: true, name: true } } } },
    },
  });
  if (!c) return null;
  return containerDetailDto.parse({
    ...containerRow(c, c.pod.name, c.pod.deletedAt === null),
    cluster: c.pod.cluster.name,
    namespace: c.pod.namespace.name,
    workload: workloadName(c.pod),
    digestSource: c.digestSource,
    firstSeen: c.firstSeen.toISOString(),
    lastSeen: c.lastSeen.toISOString(),
    imageVerdict: c.image?.verdict ?? null,
    discovery: c.image?.discovery ?? "pending",
    signers: c.image?.signers ?? [],
  });
}

/** `AND` the cluster and namespace of a list's scope, by their names, on the given id columns. */
function scopeSql(q: { cluster?: string; namespace?: string }, clusterId: Prisma.Sql, namespaceId: Prisma.Sql): Prisma.Sql {
  const clusters = Prisma.sql`SELECT id FROM "Cluster" WHERE name = ${q.cluster ?? null}`;
  return Prisma.sql`
    ${q.cluster ? Prisma.sql`AND ${clusterId} IN (${clusters})` : Prisma.empty}
    ${q.namespace ? Prisma.sql`AND ${namespaceId} IN (SELECT id FROM "Namespace" WHERE name = ${q.namespace} ${q.cluster ? Prisma.sql`AND "clusterId" IN (${clusters})` : Prisma.empty})` : Prisma.empty}`;
}

/**
 * The running containers behind a count of the overview, the drill-down or the policies, a page of
 * them with their pod, workload, image and verdicts, in the order of their ids:
 * - by coverage bucket: the containers the latest coverage snapshot counted in those buckets — each
 *   one's bucket as that snapshot put it (by `containerState`, lib/coverage/compute; ADR 0013), stored
 *   with it (ContainerBucket, lib/scan/snapshot.ts), so a count and its list are one state by
 *   construction; counted and paged in SQL on ContainerBucket's indexes, whatever the size of the fleet.
 *   `asOf` is that snapshot's time: a container that started since is in neither (ADR 0026);
 * - by signer: the running containers verified through one key or keyless authority, as the Keys
 *   page's usage counts them (lib/trust/inventory authorityUsage: the same fleet evaluation, read now);
 * - by verdict under a policy: the running containers whose verdict under that policy has one of
 *   these values now, as the policies' counts count them (lib/data/policies verdictCounts), counted and
 *   paged in SQL on the Verdict (policyId, value, containerId) index — in a cluster or namespace
 *   (policyId, namespaceId, value, containerId): the namespace each verdict stores, its pod's —
 *   leaving out the containers of the pods that are gone (Pod (deletedAt) index).
 */
export async function listContainersInBuckets(db: Db, q: ContainerListQuery): Promise<ContainerListDto> {
  const from = (q.page - 1) * q.pageSize;
  let total = 0;
  let page: { id: string; cluster: string; namespace: string; bucket: ListedBucket | null; pending?: boolean }[] = [];
  let policy: { id: string; name: string } | null = null;
  let signer: ContainerListDto["signer"] = null;
  let asOf: Date | null = null;
  if (q.signer) {
    // the containers the Keys page's usage counts, read the same way (lib/trust/inventory), in the scope
    const usage = await authorityUsage(db, q.signer);
    const inScope = (usage?.containers ?? []).filter((c) => (!q.cluster || c.cluster === q.cluster) && (!q.namespace || c.namespace === q.namespace));
    if (usage) signer = { ref: usage.ref, name: usage.name, images: new Set(inScope.map((c) => c.imageId)).size, namespaces: new Set(inScope.map((c) => `${c.cluster}/${c.namespace}`)).size };
    total = inScope.length;
    page = inScope.slice(from, from + q.pageSize).map((c) => ({ id: c.containerId, cluster: c.cluster, namespace: c.namespace, bucket: null }));
  } else if (q.policy) {
    const verdicts = q.verdict ?? EVALUATED_VERDICTS;
    const stored = verdicts.filter((v) => v !== "pending");
    // the containers with a stored verdict first (by id), then those awaiting one (`pending`, by id).
    // The stored ones in one statement (one state): the policy's verdicts of these values in the scope
    // (its namespaces, Verdict.namespaceId: the index (policyId, namespaceId, value, containerId); the
    // fleet: (policyId, value, containerId)) but those of containers whose pod is gone (the pods with a
    // deletedAt, by its index). Counted as all of them, index-only, less those of the pods that are
    // gone (each verdict has one container and one pod: the same number as an anti-join, without
    // joining every verdict); paged per value in the order of the container ids (each value's
    // ordered index read up to the page's end, merged) instead of sorting all of them; the page's
    // clusters and namespaces named
    const scope = q.cluster || q.namespace;
    const inScope = scope ? Prisma.sql`AND v."namespaceId" IN (SELECT n.id FROM "Namespace" n WHERE TRUE ${scopeSql(q, Prisma.raw(`n."clusterId"`), Prisma.raw(`n.id`))})` : Prisma.empty;
    const values = [...new Set(stored)];
    const ofValues = Prisma.sql`v."policyId" = ${q.policy}::uuid AND v.value = ANY(${values}::text[]::"VerdictValue"[]) ${inScope}`;
    const running = Prisma.sql`NOT EXISTS (SELECT 1 FROM "Container" c JOIN "Pod" p ON p.id = c."podId" WHERE c.id = v."containerId" AND p."deletedAt" IS NOT NULL)`;
    const upToPageEnd = values.map(
      (value) => Prisma.sql`(SELECT v."containerId" FROM "Verdict" v
        WHERE v."policyId" = ${q.policy}::uuid AND v.value = ${value}::"VerdictValue" ${inScope} AND ${running}
        ORDER BY v."containerId" LIMIT ${from + q.pageSize})`,
    );
    const [found, rows] = await Promise.all([
      db.policy.findUnique({ where: { id: q.policy }, select: { id: true, name: true } }),
      values.length
        ? db.$queryRaw<{ total: number; id: string | null; cluster: string | null; namespace: string | null }[]>`
      WITH total AS (
        SELECT ((SELECT count(*) FROM "Verdict" v WHERE ${ofValues})
              - (SELECT count(*) FROM "Pod" p JOIN "Container" c ON c."podId" = p.id JOIN "Verdict" v ON v."containerId" = c.id
                 WHERE p."deletedAt" IS NOT NULL AND ${ofValues}))::int AS n
      ),
      page AS (SELECT m."containerId" FROM (${Prisma.join(upToPageEnd, " UNION ALL ")}) m ORDER BY m."containerId" LIMIT ${q.pageSize} OFFSET ${from})
      SELECT total.n AS total, page."containerId"::text AS id, cl.name AS cluster, n.name AS namespace
      FROM total
      LEFT JOIN page ON TRUE
      LEFT JOIN "Container" c ON c.id = page."containerId"
      LEFT JOIN "Pod" p ON p.id = c."podId"
      LEFT JOIN "Cluster" cl ON cl.id = p."clusterId"
      LEFT JOIN "Namespace" n ON n.id = p."namespaceId"
      ORDER BY page."containerId"`
        : Promise.resolve([]),
    ]);
    policy = found;
    const storedTotal = rows[0]?.total ?? 0;
    const pending = verdicts.includes("pending")
      ? await listAwaitingVerdict(db, q.policy, { cluster: q.cluster, namespace: q.namespace }, Math.max(0, from - storedTotal), q.pageSize - Math.max(0, Math.min(q.pageSize, storedTotal - from)))
      : { total: 0, rows: [] };
    total = storedTotal + pending.total;
    page = [
      ...rows.flatMap((r) => (r.id && r.cluster && r.namespace ? [{ id: r.id, cluster: r.cluster, namespace: r.namespace, bucket: null }] : [])),
      ...pending.rows.map((r) => ({ ...r, bucket: null, pending: true })),
    ];
  } else {
    const where = Prisma.sql`b.bucket = ANY(${q.bucket ?? []}::text[]::"CoverageBucket"[]) ${scopeSql(q, Prisma.raw(`b."clusterId"`), Prisma.raw(`b."namespaceId"`))}
      ${q.reason ? Prisma.sql`AND b."staleReasonKey" = md5(${q.reason})` : Prisma.empty}`;
    // one statement: the count, the page and the snapshot's time are of one state (a snapshot
    // committed meanwhile changes all three or none)
    const rows = await db.$queryRaw<{ total: number; asOf: Date | null; id: string | null; bucket: ListedBucket | null; cluster: string | null; namespace: string | null }[]>`
      WITH total AS (SELECT count(*)::int AS n FROM "ContainerBucket" b WHERE ${where}),
           snapshot AS (SELECT max("takenAt") AS at FROM "CoverageSnapshot" WHERE scope = 'fleet'),
           page AS (SELECT b."containerId", b.bucket, b."clusterId", b."namespaceId" FROM "ContainerBucket" b WHERE ${where}
                    ORDER BY b."containerId" LIMIT ${q.pageSize} OFFSET ${from})
      SELECT total.n AS total, snapshot.at AS "asOf", page."containerId"::text AS id, page.bucket::text AS bucket, cl.name AS cluster, n.name AS namespace
      FROM total CROSS JOIN snapshot
      LEFT JOIN page ON TRUE
      LEFT JOIN "Cluster" cl ON cl.id = page."clusterId"
      LEFT JOIN "Namespace" n ON n.id = page."namespaceId"
      ORDER BY page."containerId"`;
    total = rows[0]?.total ?? 0;
    asOf = rows[0]?.asOf ?? null;
    page = rows.flatMap((r) => (r.id && r.cluster && r.namespace ? [{ id: r.id, cluster: r.cluster, namespace: r.namespace, bucket: r.bucket }] : []));
  }
  const details = await db.container.findMany({
    where: { id: { in: page.map((x) => x.id) } },
    include: { ...containerInclude, pod: { select: { name: true, workload: { select: { kind: true, name: true } } } } },
  });
  const byId = new Map(details.map((c) => [c.id, c]));
  return containerListDto.parse({
    total,
    page: q.page,
    pageSize: q.pageSize,
    policy,
    signer,
    asOf: asOf?.toISOString() ?? null,
    rows: page.flatMap((r) => {
      const c = byId.get(r.id);
      // a container removed between the two reads is left out of the page
      return c ? [{ ...containerRow(c, c.pod.name, true), cluster: r.cluster, namespace: r.namespace, workload: workloadName(c.pod), bucket: r.bucket, pending: r.pending ?? false }] : [];
    }),
  });
}

/**
 * The running containers (in a cluster or namespace) that await a verdict under a policy: no verdict
 * under it, and in its current scope (lib/policy/scope awaitsVerdict, the namespace page's rule), in
 * the order of their ids: their number and the `take` of them from `skip`. Only an enabled policy awaits
 * verdicts (the namespace page lists those). The candidates (containers without a verdict under the
 * policy: few, once an evaluation ran after its last save) are read through a cursor in chunks.
 */
async function listAwaitingVerdict(
  db: Db,
  policyId: string,
  scope: { cluster?: string; namespace?: string },
  skip: number,
  take: number,
): Promise<{ total: number; rows: { id: string; cluster: string; namespace: string }[] }> {
  const [policy] = await db.$queryRaw<{ spec: unknown }[]>`
    SELECT v.spec FROM "Policy" p
    LEFT JOIN LATERAL (SELECT spec FROM "PolicyVersion" WHERE "policyId" = p.id ORDER BY version DESC LIMIT 1) v ON true
    WHERE p.id = ${policyId}::uuid AND p.enabled AND p."archivedAt" IS NULL`;
  const parsed = policy ? policySpecSchema.safeParse(policy.spec) : null;
  if (!parsed?.success) return { total: 0, rows: [] };
  const spec = parsed.data;
  const query = Prisma.sql`
    SELECT c.id::text, cl.name AS cluster, n.name AS namespace, n.labels, i.registry, i.repository, c."imageRef"
    FROM "Container" c
    JOIN "Pod" p ON p.id = c."podId" AND p."deletedAt" IS NULL
    JOIN "Namespace" n ON n.id = p."namespaceId"
    JOIN "Cluster" cl ON cl.id = p."clusterId"
    JOIN "Image" i ON i.id = c."imageId"
    WHERE NOT EXISTS (SELECT 1 FROM "Verdict" v WHERE v."containerId" = c.id AND v."policyId" = ${policyId}::uuid)
      ${scope.cluster ? Prisma.sql`AND cl.name = ${scope.cluster}` : Prisma.empty}
      ${scope.namespace ? Prisma.sql`AND n.name = ${scope.namespace}` : Prisma.empty}
    ORDER BY c.id`;
  return withSnapshot(
    db,
    async (tx) => {
      let total = 0;
      const rows: { id: string; cluster: string; namespace: string }[] = [];
      for await (const chunk of cursorPages<AwaitingRow>(tx, query, AWAITING_CHUNK))
        for (const r of chunk) {
          const labels = (r.labels ?? {}) as Record<string, string>;
          if (!awaitsVerdict(spec, { cluster: r.cluster, namespace: r.namespace, namespaceLabels: labels, registry: r.registry, repository: r.repository, imageRef: r.imageRef })) continue;
          if (total >= skip && rows.length < take) rows.push({ id: r.id, cluster: r.cluster, namespace: r.namespace });
          total++;
        }
      return { total, rows };
    },
    AWAITING_TIMEOUT_MS,
  );
}

interface AwaitingRow {
  id: string;
  cluster: string;
  namespace: string;
  labels: unknown;
  registry: string | null;
  repository: string | null;
  imageRef: string;
}

/** Rows of the candidates read per round trip by the list of containers awaiting a verdict. */
const AWAITING_CHUNK = 1000;
/** Longest the list of containers awaiting a verdict may read (its snapshot transaction). */
const AWAITING_TIMEOUT_MS = 60_000;
