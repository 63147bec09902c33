import "server-only";
import type { Db } from "@/lib/db/client";
import { cursorPages, withSnapshot } from "@/lib/db/cursor";
import { Prisma } from "@/lib/generated/prisma/client";
import { coverage, pickFigures as pick } from "@/lib/coverage/compute";
import { namespaceDetailDto, namespaceListDto, type NamespaceDetailDto, type NamespaceListDto } from "@/lib/dto/dashboard";
import { policySpecSchema } from "@/lib/policy/schema";
import { decideAdmission } from "@/lib/policy/admission";
import { awaitsVerdict } from "@/lib/policy/scope";
import type { VerdictValueDto } from "@/lib/dto/read";


/** Coverage of every namespace at the latest snapshot, worst first. */
export async function listNamespaceCoverage(db: Db): Promise<NamespaceListDto> {
  const latest = await db.coverageSnapshot.findFirst({ where: { scope: "fleet" }, orderBy: { takenAt: "desc" }, select: { takenAt: true } });
  if (!latest) return { takenAt: null, namespaces: [] };
  const rows = await db.coverageSnapshot.findMany({
    where: { scope: "namespace", takenAt: latest.takenAt },
    include: { cluster: { select: { name: true } } },
  });
  return namespaceListDto.parse({
    takenAt: latest.takenAt.toISOString(),
    namespaces: rows
      .map((r) => ({ cluster: r.cluster?.name ?? "(deleted)", namespace: r.namespace ?? "", ...pick(r), coveragePct: coverage(r) }))
      .sort((a, b) => a.cluster.localeCompare(b.cluster) || a.namespace.localeCompare(b.namespace)),
  });
}

/** Containers enforcement would reject that a namespace page lists per policy (the count is of all of them). */
export const WOULD_BREAK_SHOWN = 100;
/** Rows per round trip of the namespace's containers (read through a cursor: any number, bounded memory). */
const CONTAINER_PAGE = 2000;

/**
 * One namespace: its coverage over time, the policies that apply to its running containers and, for
 * policies in warn or audit mode, the containers enforcement would reject: the admission webhook's
 * decision (lib/policy/admission `decideAdmission`) with the mode forced to enforce. Every running
 * container of the namespace is counted, however many (a cursor in one read-only snapshot); the
 * containers enforcement would reject are counted all and listed up to WOULD_BREAK_SHOWN.
 */
export async function getNamespaceDetail(db: Db, cluster: string, namespace: string, opts: { trendDays?: number; now?: Date } = {}): Promise<NamespaceDetailDto | null> {
  const ns = await db.namespace.findFirst({ where: { name: namespace, cluster: { name: cluster } }, include: { cluster: true } });
  if (!ns) return null;
  const since = new Date((opts.now ?? new Date()).getTime() - (opts.trendDays ?? 30) * 86_400_000);
  // the trend and the policies with their current spec, then the namespace's running containers with
  // image, workload and verdicts, counted page by page
  const [trend, policies] = await Promise.all([
    db.coverageSnapshot.findMany({
      where: { scope: "namespace", clusterId: ns.clusterId, namespace, takenAt: { gte: since } },
      orderBy: { takenAt: "asc" },
      take: 2000,
    }),
    db.$queryRaw<{ id: string; name: string; mode: string; currentVersion: number; spec: unknown }[]>`
      SELECT p.id::text, p.name, p.mode::text AS mode, p."currentVersion", v.spec
      FROM "Policy" p
      LEFT JOIN LATERAL (SELECT spec FROM "PolicyVersion" WHERE "policyId" = p.id ORDER BY version DESC LIMIT 1) v ON true
      WHERE p.enabled AND p."archivedAt" IS NULL
      ORDER BY p.name`,
  ]);
  const labels = (ns.labels ?? {}) as Record<string, string>;
  const tallies = policies.map((p) => {
    const parsed = policySpecSchema.safeParse(p.spec);
    return { p, spec: parsed.success ? parsed.data : null, containers: 0, verified: 0, wouldBreakTotal: 0, wouldBreak: [] as NamespaceDetailDto["policies"][number]["wouldBreak"] };
  });
  const query = Prisma.sql`
    SELECT c.id::text AS id, c."imageId"::text AS "imageId", c.name, c."imageRef", i.registry, i.repository, p.name AS pod, w.kind::text AS "workloadKind", w.name AS "workloadName",
           COALESCE((SELECT json_agg(json_build_object('policyId', v."policyId"::text, 'value', v.value::text)) FROM "Verdict" v WHERE v."containerId" = c.id), '[]'::json) AS verdicts
    FROM "Pod" p
    JOIN "Container" c ON c."podId" = p.id
    LEFT JOIN "Image" i ON i.id = c."imageId"
    LEFT JOIN "Workload" w ON w.id = p."workloadId"
    WHERE p."namespaceId" = ${ns.id}::uuid AND p."deletedAt" IS NULL
    ORDER BY c.id`;
  await withSnapshot(db, async (tx) => {
    for await (const page of cursorPages<NamespaceContainer>(tx, query, CONTAINER_PAGE)) {
      for (const c of page) for (const t of tallies) tally(t, c, { cluster, namespace, labels });
    }
  });
  const applied = tallies
    .filter((t) => t.containers > 0)
    .map((t) => ({
      id: t.p.id,
      name: t.p.name,
      mode: t.p.mode as NamespaceDetailDto["policies"][number]["mode"],
      version: t.p.currentVersion,
      containers: t.containers,
      verified: t.verified,
      wouldBreakTotal: t.p.mode === "enforce" ? 0 : t.wouldBreakTotal,
      wouldBreak: t.p.mode === "enforce" ? [] : t.wouldBreak,
    }));
  return namespaceDetailDto.parse({
    cluster,
    namespace,
    labels,
    trend: trend.map((t) => ({ takenAt: t.takenAt.toISOString(), ...pick(t) })),
    policies: applied,
  });
}

/** Counts one container under one policy: in scope (evaluated, or awaiting a verdict), verified, and whether enforcement would reject it. */
function tally(
  t: { p: { id: string; name: string }; spec: ReturnType<typeof policySpecSchema.parse> | null; containers: number; verified: number; wouldBreakTotal: number; wouldBreak: NamespaceDetailDto["policies"][number]["wouldBreak"] },
  c: NamespaceContainer,
  where: { cluster: string; namespace: string; labels: Record<string, string> },
): void {
  const stored = c.verdicts.find((v) => v.policyId === t.p.id);
  // evaluated, or awaiting a verdict (lib/policy/scope awaitsVerdict; the containers list's `pending`)
  if (stored ? stored.value === "unmatched" : !awaitsVerdict(t.spec, { ...where, namespaceLabels: where.labels, registry: c.registry, repository: c.repository, imageRef: c.imageRef })) return;
  const verdict = stored && stored.value !== "unmatched" ? stored.value : "error";
  t.containers++;
  if (verdict === "verified") t.verified++;
  // the admission webhook's decision function, with the policy's mode forced to enforce
  if (decideAdmission([{ container: c.name, image: c.imageRef, policy: t.p.name, mode: "enforce", verdict, reasons: [] }], "enforce").decision !== "deny") return;
  t.wouldBreakTotal++;
  if (t.wouldBreak.length < WOULD_BREAK_SHOWN) {
    t.wouldBreak.push({
      workload: c.workloadKind && c.workloadName ? `${c.workloadKind}/${c.workloadName}` : `Pod/${c.pod}`,
      pod: c.pod,
      container: c.name,
      containerId: c.id,
      image: c.imageRef,
      imageId: c.imageId,
      verdict,
    });
  }
}

interface NamespaceContainer {
  id: string;
  imageId: string | null;
  name: string;
  imageRef: string;
  registry: string | null;
  repository: string | null;
  pod: string;
  workloadKind: string | null;
  workloadName: string | null;
  verdicts: { policyId: string; value: VerdictValueDto }[];
}
