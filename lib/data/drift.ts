import "server-only";
import type { Db } from "@/lib/db/client";
import { policyDriftDto, type PolicyDriftDto } from "@/lib/dto/dashboard";
import { rejectionsUnder } from "@/lib/data/rejections";
import { parseImageReference } from "@/lib/kube/image-ref";
import { predictedAdmission } from "@/lib/policy/admission";
import type { VerdictValue } from "@/lib/policy/evaluate";
import { FAILING_VERDICTS } from "@/lib/dto/read";
import type { PolicySpec } from "@/lib/policy/schema";

/** Rows read of each table (the summary counts them all). */
const LIMIT = 200;
/** How far back the drift reads rejections: the rejections list's longest period, so its count opens that list. */
export const DRIFT_DAYS = 365;
/** Worst first: one non-verified container of an image is enough for the cluster to deny it. */
const SEVERITY: Record<VerdictValue, number> = { failed: 4, unsigned: 3, error: 2, verified: 1 };

/**
 * Drift of an imported policy (source cluster_import): the admission rejections its cluster recorded for
 * the source object (policy-controller ClusterImagePolicy, Kyverno policy, matched by engine and policy
 * name), each beside Signet's verdict for the same image under this policy, and the running containers
 * Signet predicts the cluster would deny now. Agreement uses lib/policy/admission's prediction.
 */
export async function getPolicyDrift(db: Db, policyId: string, now = new Date()): Promise<PolicyDriftDto | null> {
  const p = await db.policy.findUnique({ where: { id: policyId } });
  if (!p) return null;
  const mode = p.mode as PolicySpec["mode"];
  const empty = { rejections: 0, agree: 0, disagree: 0, unknown: 0, runningDenied: 0 };
  if (p.source !== "cluster_import" || !p.sourceCluster || !p.sourceObject) {
    return policyDriftDto.parse({ imported: false, cluster: p.sourceCluster, sourceObject: p.sourceObject, mode, summary: empty, rejections: [], runningDenied: [] });
  }
  const rejectedWhere = { ...rejectionsUnder(p), lastSeen: { gte: new Date(now.getTime() - DRIFT_DAYS * 86_400_000) } };
  // Signet predicts a denial of what it does not verify only where the policy is enforced (predictedAdmission)
  const deniedWhere = { policyId, value: { in: mode === "enforce" ? [...FAILING_VERDICTS] : [] }, container: { pod: { deletedAt: null, cluster: { name: p.sourceCluster } } } };
  const [rejections, rejectedTotal, failing, deniedTotal] = await Promise.all([
    db.admissionRejection.findMany({
      where: rejectedWhere,
      orderBy: [{ lastSeen: "desc" }, { id: "asc" }],
      take: LIMIT,
    }),
    db.admissionRejection.count({ where: rejectedWhere }),
    db.verdict.findMany({
      where: deniedWhere,
      include: { container: { include: { pod: { include: { namespace: true, workload: true } } } } },
      orderBy: [{ changedAt: "desc" }, { containerId: "asc" }],
      take: LIMIT,
    }),
    db.verdict.count({ where: deniedWhere }),
  ]);

  // Signet's verdicts for the rejected images (same repository; same digest when the rejection names one).
  const refs = rejections.map((r) => (r.image ? parseImageReference(r.image) : null));
  const repos = [...new Map(refs.filter((r) => r !== null).map((r) => [r.name, { registry: r.registry, repository: r.repository }])).values()];
  const verdicts = repos.length
    ? await db.verdict.findMany({
        where: { policyId, container: { pod: { deletedAt: null }, image: { OR: repos } } },
        select: { value: true, container: { select: { image: { select: { registry: true, repository: true, digest: true } } } } },
        take: 5000,
      })
    : [];
  const worst = (repo: string, digest: string | null): VerdictValue | null => {
    let out: VerdictValue | null = null;
    for (const v of verdicts) {
      const img = v.container.image;
      if (!img || `${img.registry}/${img.repository}` !== repo || (digest && img.digest !== digest)) continue;
      if (v.value === "unmatched") continue;
      if (!out || SEVERITY[v.value] > SEVERITY[out]) out = v.value;
    }
    return out;
  };

  const rows = rejections.map((r, i) => {
    const ref = refs[i];
    const signetVerdict = ref ? worst(ref.name, ref.digest) : null;
    const decision = signetVerdict ? predictedAdmission(signetVerdict, mode) : null;
    const agreement = decision === null ? "unknown" : decision === "deny" ? "agree" : "disagree";
    return {
      namespace: r.namespace,
      workload: r.workloadName ? `${r.workloadKind ?? "Workload"}/${r.workloadName}` : null,
      image: r.image,
      message: r.message.slice(0, 2000),
      count: r.count,
      lastSeen: r.lastSeen.toISOString(),
      signetVerdict,
      agreement,
    };
  });
  const runningDenied = failing
    .filter((v) => predictedAdmission(v.value, mode) === "deny")
    .map((v) => {
      const pod = v.container.pod;
      return {
        namespace: pod.namespace.name,
        workload: pod.workload ? `${pod.workload.kind}/${pod.workload.name}` : `Pod/${pod.name}`,
        containerId: v.container.id,
        image: v.container.imageRef,
        imageId: v.container.imageId,
        verdict: v.value,
        reason: ((v.reasons as { message?: string }[] | null) ?? [])[0]?.message ?? null,
      };
    });
  return policyDriftDto.parse({
    imported: true,
    cluster: p.sourceCluster,
    sourceObject: p.sourceObject,
    mode,
    summary: {
      rejections: rejectedTotal,
      agree: rows.filter((r) => r.agreement === "agree").length,
      disagree: rows.filter((r) => r.agreement === "disagree").length,
      unknown: rows.filter((r) => r.agreement === "unknown").length,
      runningDenied: deniedTotal,
    },
    rejections: rows,
    runningDenied,
  });
}
