import "server-only";
import type { Db } from "@/lib/db/client";
import { percent, pickFigures as pick } from "@/lib/coverage/compute";
import { namespaceDetailDto, namespaceListDto, type NamespaceDetailDto, type NamespaceListDto } from "@/lib/dto/dashboard";
import { policySpecSchema } from "@/lib/policy/schema";
import { decideAdmission } from "@/lib/policy/admission";
import { policyApplies } from "@/lib/policy/scope";


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
      .map((r) => ({ cluster: r.cluster?.name ?? "(deleted)", namespace: r.namespace ?? "", ...pick(r), coveragePct: percent(r.containersVerified, r.containersTotal) }))
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
  const [trend, policies, containers] = await Promise.all([
    db.coverageSnapshot.findMany({
      where: { scope: "namespace", clusterId: ns.clusterId, namespace, takenAt: { gte: since } },
      orderBy: { takenAt: "asc" },
      take: 2000,
    }),
    db.policy.findMany({
      where: { enabled: true, archivedAt: null },
      include: { versions: { orderBy: { version: "desc" }, take: 1 } },
      orderBy: { name: "asc" },
    }),
    db.container.findMany({
      where: { pod: { namespaceId: ns.id, deletedAt: null } },
      include: {
        image: { select: { registry: true, repository: true } },
        pod: { select: { name: true, workload: { select: { kind: true, name: true } } } },
        verdicts: { select: { policyId: true, value: true } },
      },
      take: 5000,
    }),
  ]);
  const labels = (ns.labels ?? {}) as Record<string, string>;
  const applied = policies.flatMap((p) => {
    const spec = policySpecSchema.safeParse(p.versions[0]?.spec);
    const inScope = containers.filter((c) => {
      const verdict = c.verdicts.find((v) => v.policyId === p.id);
      if (verdict) return verdict.value !== "unmatched";
      if (!spec.success || !c.image) return false;
      return policyApplies(spec.data, { cluster, namespace, namespaceLabels: labels, imageName: `${c.image.registry}/${c.image.repository}`, imageRef: c.imageRef });
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
        mode: p.mode,
        version: p.currentVersion,
        containers: inScope.length,
        verified: inScope.filter((c) => verdictOf(c) === "verified").length,
        wouldBreak:
          p.mode === "enforce"
            ? []
            : inScope
                .filter(wouldDeny)
                .map((c) => ({
                  workload: c.pod.workload ? `${c.pod.workload.kind}/${c.pod.workload.name}` : `Pod/${c.pod.name}`,
                  pod: c.pod.name,
                  container: c.name,
                  image: c.imageRef,
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
