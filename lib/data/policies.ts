import "server-only";
import { stringify } from "yaml";
import type { Db } from "@/lib/db/client";
import { policiesPageDto, policyDetailDto, type PoliciesPageDto, type PolicyDetailDto } from "@/lib/dto/dashboard";
import { authorityPolicies } from "@/lib/trust/inventory";

type Counts = Partial<Record<"verified" | "failed" | "unsigned" | "error" | "unmatched", number>>;

async function verdictCounts(db: Db, policyId?: string): Promise<Map<string, Counts>> {
  const rows = await db.verdict.groupBy({
    by: ["policyId", "value"],
    where: { ...(policyId ? { policyId } : {}), container: { pod: { deletedAt: null } } },
    _count: { _all: true },
  });
  const out = new Map<string, Counts>();
  for (const r of rows) {
    const c = out.get(r.policyId) ?? {};
    c[r.value] = r._count._all;
    out.set(r.policyId, c);
  }
  return out;
}

/** Policies with their verdict mix over running containers, and the authorities they trust. */
export async function listPolicies(db: Db): Promise<PoliciesPageDto> {
  const [policies, counts, authorities, usedBy] = await Promise.all([
    db.policy.findMany({ where: { archivedAt: null }, orderBy: { name: "asc" } }),
    verdictCounts(db),
    db.authority.findMany({ orderBy: { name: "asc" }, include: { policies: { include: { policy: { select: { name: true } } } } } }),
    // "Used by" as the Keys page counts it: a policy trusting a stored key inline uses it too
    authorityPolicies(db),
  ]);
  return policiesPageDto.parse({
    policies: policies.map((p) => ({
      id: p.id,
      name: p.name,
      description: p.description,
      mode: p.mode,
      source: p.source,
      readOnly: p.readOnly,
      sourceCluster: p.sourceCluster,
      enabled: p.enabled,
      version: p.currentVersion,
      updatedAt: p.updatedAt.toISOString(),
      verdicts: counts.get(p.id) ?? {},
    })),
    authorities: authorities.map((a) => ({
      id: a.id,
      name: a.name,
      kind: a.kind,
      status: a.status,
      fingerprint: a.fingerprint,
      issuer: a.issuer ?? a.issuerRegexp,
      subject: a.subject ?? a.subjectRegexp,
      rotateBy: a.rotateBy?.toISOString() ?? null,
      policies: usedBy[a.name] ?? a.policies.map((p) => p.policy.name),
    })),
  });
}

/** Rows of the policy page's "not verified" table: the most recently changed; its count links to them all. */
export const NOT_VERIFIED_SHOWN = 25;

/** One policy: its document (YAML), versions with the verdict events each produced, and what enforcing it would break. */
export async function getPolicyDetail(db: Db, id: string): Promise<PolicyDetailDto | null> {
  const p = await db.policy.findUnique({ where: { id }, include: { versions: { orderBy: { version: "desc" } } } });
  if (!p) return null;
  const [counts, events, failing] = await Promise.all([
    verdictCounts(db, p.id),
    db.verificationEvent.groupBy({
      by: ["policyVersion", "verdict"],
      where: { kind: "verdict", policyName: p.name },
      _count: { _all: true },
    }),
    // the most recently changed of the running containers this policy does not verify (for a warn /
    // audit policy, what enforcing it would reject); the page links to the list of them all
    db.verdict.findMany({
      where: { policyId: p.id, value: { in: ["failed", "unsigned", "error"] }, container: { pod: { deletedAt: null } } },
      include: { container: { include: { pod: { include: { cluster: true, namespace: true, workload: true } } } } },
      orderBy: [{ changedAt: "desc" }, { containerId: "asc" }],
      take: NOT_VERIFIED_SHOWN,
    }),
  ]);
  const current = p.versions[0];
  const doc = { apiVersion: "signet.dev/v1", kind: "Policy", metadata: { name: p.name, ...(p.description ? { description: p.description } : {}) }, spec: current?.spec ?? {} };
  return policyDetailDto.parse({
    id: p.id,
    name: p.name,
    description: p.description,
    mode: p.mode,
    source: p.source,
    readOnly: p.readOnly,
    sourceCluster: p.sourceCluster,
    enabled: p.enabled,
    version: p.currentVersion,
    updatedAt: p.updatedAt.toISOString(),
    verdicts: counts.get(p.id) ?? {},
    yaml: stringify(doc),
    versions: p.versions.map((v) => ({
      version: v.version,
      createdAt: v.createdAt.toISOString(),
      createdBy: v.createdBy,
      events: Object.fromEntries(events.filter((e) => e.policyVersion === v.version && e.verdict).map((e) => [e.verdict!, e._count._all])),
    })),
    wouldBreak: failing.map((v) => {
      const pod = v.container.pod;
      return {
        cluster: pod.cluster.name,
        namespace: pod.namespace.name,
        workload: pod.workload ? `${pod.workload.kind}/${pod.workload.name}` : `Pod/${pod.name}`,
        containerId: v.container.id,
        image: v.container.imageRef,
        imageId: v.container.imageId,
        verdict: v.value,
        reason: ((v.reasons as { message?: string }[] | null) ?? [])[0]?.message ?? null,
      };
    }),
  });
}
