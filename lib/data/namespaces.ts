import "server-only";
import type { Db } from "@/lib/db/client";
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

/**
 * One namespace: its coverage over time, the policies that apply to its running containers and, for
 * policies in warn or audit mode, the containers enforcement would reject: the admission webhook's
 * decision (lib/policy/admission `decideAdmission`) with the mode forced to enforce.
 */
export async function getNamespaceDetail(db: Db, cluster: string, namespace: string, opts: { trendDays?: number; now?: Date } = {}): Promise<NamespaceDetailDto | null> {
  const ns = await db.namespace.findFirst({ where: { name: namespace, cluster: { name: cluster } }, include: { cluster: true } });
  if (!ns) return null;
  const since = new Date((opts.now ?? new Date()).getTime() - (opts.trendDays ?? 30) * 86_400_000);
  // three reads in parallel, each one statement: the trend, the policies with their current spec, and
  // the namespace's running containers with image, workload and verdicts (a page's worth of rows)
  const [trend, policies, containers] = await Promise.all([
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
    db.$queryRaw<NamespaceContainer[]>`
      SELECT c.id::text AS id, c."imageId"::text AS "imageId", c.name, c."imageRef", i.registry, i.repository, p.name AS pod, w.kind::text AS "workloadKind", w.name AS "workloadName",
             COALESCE((SELECT json_agg(json_build_object('policyId', v."policyId"::text, 'value', v.value::text)) FROM "Verdict" v WHERE v."containerId" = c.id), '[]'::json) AS verdicts
      FROM "Pod" p
      JOIN "Container" c ON c."podId" = p.id
      LEFT JOIN "Image" i ON i.id = c."imageId"
      LEFT JOIN "Workload" w ON w.id = p."workloadId"
      WHERE p."namespaceId" = ${ns.id}::uuid AND p."deletedAt" IS NULL
      ORDER BY c.id
      LIMIT 5000`,
  ]);
  const labels = (ns.labels ?? {}) as Record<string, string>;
  const applied = policies.flatMap((p) => {
    const parsed = policySpecSchema.safeParse(p.spec);
    const spec = parsed.success ? parsed.data : null;
    // evaluated, or awaiting a verdict (lib/policy/scope awaitsVerdict; the containers list's `pending`)
    const inScope = containers.filter((c) => {
      const verdict = c.verdicts.find((v) => v.policyId === p.id);
      if (verdict) return verdict.value !== "unmatched";
      return awaitsVerdict(spec, { cluster, namespace, namespaceLabels: labels, registry: c.registry, repository: c.repository, imageRef: c.imageRef });
    });
    if (inScope.length === 0) return [];
    const verdictOf = (c: (typeof inScope)[number]) => c.verdicts.find((v) => v.policyId === p.id)?.value ?? "error";
    // the admission webhook's decision function, with the policy's mode forced to enforce
    const wouldDeny = (c: (typeof inScope)[number]) => {
      const verdict = verdictOf(c);
      if (verdict === "unmatched") return false;
      return decideAdmission([{ container: c.name, image: c.imageRef, policy: p.name, mode: "enforce", verdict, reasons: [] }], "enforce").decision === "deny";
    };
    return [
      {
        id: p.id,
        name: p.name,
        mode: p.mode as NamespaceDetailDto["policies"][number]["mode"],
        version: p.currentVersion,
        containers: inScope.length,
        verified: inScope.filter((c) => verdictOf(c) === "verified").length,
        wouldBreak:
          p.mode === "enforce"
            ? []
            : inScope
                .filter(wouldDeny)
                .map((c) => ({
                  workload: c.workloadKind && c.workloadName ? `${c.workloadKind}/${c.workloadName}` : `Pod/${c.pod}`,
                  pod: c.pod,
                  container: c.name,
                  containerId: c.id,
                  image: c.imageRef,
                  imageId: c.imageId,
                  verdict: verdictOf(c),
                })),
      },
    ];
  });
  return namespaceDetailDto.parse({
    cluster,
    namespace,
    labels,
    trend: trend.map((t) => ({ takenAt: t.takenAt.toISOString(), ...pick(t) })),
    policies: applied,
  });
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
