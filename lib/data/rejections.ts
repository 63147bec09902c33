import "server-only";
import type { Db } from "@/lib/db/client";
import type { Prisma } from "@/lib/generated/prisma/client";
import { rejectionsDto, type RejectionQuery, type RejectionsDto } from "@/lib/dto/dashboard";
import { listAuthorities } from "@/lib/trust/inventory";

type PolicyOrigin = { name: string; source: string; sourceCluster: string | null; sourceObject: string | null };

/**
 * The rejections recorded under a policy: Signet's webhook names the policy itself; a policy imported
 * from a cluster (ClusterImagePolicy, Kyverno policy) is the cluster's controller's rejections of the
 * object it came from, matched by engine and object name in that cluster (the policy's drift, too).
 */
export function rejectionsUnder(p: PolicyOrigin): Prisma.AdmissionRejectionWhereInput {
  const o = rejectionOrigin(p);
  return o.cluster ? { cluster: { name: o.cluster }, controller: o.controller, policyName: { in: o.names } } : { controller: o.controller, policyName: { in: o.names } };
}

/** Where a policy's rejections come from: the controller, the names it gives the policy, the cluster (imports only). */
function rejectionOrigin(p: PolicyOrigin): { controller: "signet" | "policy_controller" | "kyverno"; names: string[]; cluster: string | null } {
  if (p.source !== "cluster_import" || !p.sourceCluster || !p.sourceObject) return { controller: "signet", names: [p.name], cluster: null };
  const parts = p.sourceObject.split("/");
  const kind = parts[0]!;
  const name = parts[parts.length - 1]!;
  const namespace = parts.length === 3 ? parts[1]! : null;
  return { controller: kind === "ClusterImagePolicy" ? "policy_controller" : "kyverno", names: namespace ? [name, `${namespace}/${name}`] : [name], cluster: p.sourceCluster };
}

/**
 * The policy each rejection was recorded under, as Signet knows it (its page): Signet's own by name, a
 * cluster controller's by the imported policy whose source object it names in that cluster.
 */
async function policiesOf(db: Db, rows: readonly { id: string; controller: string; policyName: string | null; cluster: { name: string } }[]): Promise<Map<string, string>> {
  const named = rows.filter((r) => r.policyName);
  if (named.length === 0) return new Map();
  const policies = await db.policy.findMany({
    where: {
      OR: [
        { name: { in: named.filter((r) => r.controller === "signet").map((r) => r.policyName!) } },
        { source: "cluster_import", sourceCluster: { in: [...new Set(named.map((r) => r.cluster.name))] } },
      ],
    },
    select: { id: true, name: true, source: true, sourceCluster: true, sourceObject: true },
  });
  const origins = policies.map((p) => ({ id: p.id, ...rejectionOrigin(p) }));
  const out = new Map<string, string>();
  for (const r of named) {
    const p = origins.find((o) => o.controller === r.controller && o.names.includes(r.policyName!) && (o.cluster === null || o.cluster === r.cluster.name));
    if (p) out.set(r.id, p.id);
  }
  return out;
}

/**
 * The rejections whose workload runs now (a row of its namespace page, with its own page): by the
 * kind and name the rejection names, against the live pods of its namespace — a workload's pods, or a
 * bare pod by its name. One bounded read for a page of rows; a rejected workload that never ran has no
 * page (its row links to its namespace only).
 */
async function runningWorkloadsOf(
  db: Db,
  rows: readonly { id: string; clusterId: string; namespace: string; workloadKind: string | null; workloadName: string | null }[],
): Promise<Set<string>> {
  const named = rows.filter((r) => r.workloadKind && r.workloadName);
  if (named.length === 0) return new Set();
  const names = [...new Set(named.map((r) => r.workloadName!))];
  const pods = await db.pod.findMany({
    where: {
      deletedAt: null,
      clusterId: { in: [...new Set(named.map((r) => r.clusterId))] },
      namespace: { name: { in: [...new Set(named.map((r) => r.namespace))] } },
      OR: [{ workload: { name: { in: names } } }, { workloadId: null, name: { in: names } }],
    },
    select: { clusterId: true, name: true, namespace: { select: { name: true } }, workload: { select: { kind: true, name: true } } },
    take: 10_000,
  });
  const running = new Set(pods.map((p) => `${p.clusterId}|${p.namespace.name}|${p.workload ? `${p.workload.kind}/${p.workload.name}` : `Pod/${p.name}`}`));
  return new Set(named.filter((r) => running.has(`${r.clusterId}|${r.namespace}|${r.workloadKind}/${r.workloadName}`)).map((r) => r.id));
}

/**
 * The `policy` and `key` filters as rejection conditions: the policy's rejections, or those of every
 * policy trusting the key (as the Keys page lists them); an unknown name matches nothing.
 */
async function policyFilter(db: Db, q: RejectionQuery): Promise<Prisma.AdmissionRejectionWhereInput[]> {
  if (!q.policy && !q.key) return [];
  const names = new Set<string>(q.policy ? [q.policy] : []);
  const keyPolicies = q.key ? ((await listAuthorities(db)).find((a) => a.name === q.key)?.policies.map((p) => p.policy) ?? []) : null;
  const rows = await db.policy.findMany({
    where: { name: { in: [...names, ...(keyPolicies ?? [])] } },
    select: { name: true, source: true, sourceCluster: true, sourceObject: true },
  });
  const under = (wanted: readonly string[]): Prisma.AdmissionRejectionWhereInput => {
    const matching = rows.filter((r) => wanted.includes(r.name));
    return matching.length ? { OR: matching.map(rejectionsUnder) } : { id: { in: [] } };
  };
  return [...(q.policy ? [under([q.policy])] : []), ...(keyPolicies ? [under(keyPolicies)] : [])];
}

/**
 * The rejections a list query selects (period or day, filters, search), as a condition: what
 * `listRejections` lists and what a count linking to that list must count (the workload page's).
 */
export async function rejectionsWhere(db: Db, q: RejectionQuery, now = new Date()): Promise<Prisma.AdmissionRejectionWhereInput> {
  // one UTC day (a bar of the per-day chart, which groups by the UTC day of lastSeen), or the period
  const dayStart = q.day ? new Date(`${q.day}T00:00:00Z`) : null;
  const lastSeen = dayStart ? { gte: dayStart, lt: new Date(dayStart.getTime() + 86_400_000) } : { gte: new Date(now.getTime() - q.days * 86_400_000) };
  return {
    AND: await policyFilter(db, q),
    lastSeen,
    ...(q.cluster ? { cluster: { name: q.cluster } } : {}),
    ...(q.namespace ? { namespace: q.namespace } : {}),
    ...(q.workload ? { workloadName: { startsWith: q.workload } } : {}),
    ...(q.controller ? { controller: q.controller } : {}),
    ...(q.q
      ? {
          OR: [
            { image: { contains: q.q, mode: "insensitive" as const } },
            { workloadName: { contains: q.q, mode: "insensitive" as const } },
            { message: { contains: q.q, mode: "insensitive" as const } },
          ],
        }
      : {}),
  };
}

/**
 * Admission rejections seen in the last `days` (or on one `day`), filtered and paginated, with a count per day: those the
 * cluster's controllers recorded as Events, and Signet's own webhook's denials, warnings and timeouts
 * (lib/admission/record.ts), side by side.
 */
export async function listRejections(db: Db, q: RejectionQuery, now = new Date()): Promise<RejectionsDto> {
  const where = await rejectionsWhere(db, q, now);
  const [total, agg, rows, days] = await Promise.all([
    db.admissionRejection.count({ where }),
    db.admissionRejection.aggregate({ where, _sum: { count: true } }),
    db.admissionRejection.findMany({
      where,
      orderBy: [{ lastSeen: "desc" }, { id: "asc" }],
      skip: (q.page - 1) * q.pageSize,
      take: q.pageSize,
      include: { cluster: { select: { name: true } } },
    }),
    db.admissionRejection.findMany({ where, select: { lastSeen: true, count: true }, take: 50_000 }),
  ]);
  const [policyOf, running] = await Promise.all([policiesOf(db, rows), runningWorkloadsOf(db, rows)]);
  const perDay = new Map<string, number>();
  for (const d of days) {
    const day = d.lastSeen.toISOString().slice(0, 10);
    perDay.set(day, (perDay.get(day) ?? 0) + d.count);
  }
  return rejectionsDto.parse({
    total,
    attempts: agg._sum.count ?? 0,
    page: q.page,
    pageSize: q.pageSize,
    perDay: [...perDay].sort(([a], [b]) => a.localeCompare(b)).map(([day, count]) => ({ day, count })),
    rows: rows.map((r) => ({
      id: r.id,
      cluster: r.cluster.name,
      namespace: r.namespace,
      workload: r.workloadName ? `${r.workloadKind ?? "Workload"}/${r.workloadName}` : null,
      workloadRunning: running.has(r.id),
      image: r.image,
      controller: r.controller,
      decision: r.decision,
      callerAuthenticated: r.callerAuthenticated,
      policyName: r.policyName,
      policyId: policyOf.get(r.id) ?? null,
      message: r.message,
      count: r.count,
      firstSeen: r.firstSeen.toISOString(),
      lastSeen: r.lastSeen.toISOString(),
    })),
  });
}
