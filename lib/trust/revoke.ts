import "server-only";
import { ApiError } from "@/lib/api/errors";
import { appendAuditEvents } from "@/lib/audit/store";
import type { Db } from "@/lib/db/client";
import { queueNotification } from "@/lib/notify/webhooks";
import { policySpecSchema, type PolicySpec } from "@/lib/policy/schema";
import { resolveTarget, safeIdentity, type AuthorityRef } from "@/lib/trust/authority-ref";
import { blastRadius, keyIsTarget, type AuthorityTarget, type BlastRadius, type FleetPolicy } from "@/lib/trust/fleet";
import { loadFleet, loadFleetPolicies } from "@/lib/trust/load-fleet";
import { reverifyImages, type ReverifyOptions } from "@/lib/trust/reverify";
import { saveSpec } from "@/lib/trust/save-spec";
import { onlyStoredKeys } from "@/lib/policy/compile";

/** Revocation: the blast-radius preview (no writes), the revocation itself, and the workloads it broke. */

export interface RevocationPreview {
  ref: string;
  label: string;
  radius: BlastRadius;
  /** Read-only policies (imported from a cluster) that embed the key and cannot be changed here. */
  readOnlyPolicies: string[];
}

/**
 * The target with its key's identity: a key known only by fingerprint (written inline) takes it from a
 * policy key with that fingerprint, so the same key written in another encoding is the target too.
 */
function withIdentity(target: AuthorityTarget, policies: readonly FleetPolicy[]): AuthorityTarget {
  if (target.kind === "policy" || target.identity || !target.fingerprint) return target;
  const identity = policies.flatMap((p) => p.keys).find((k) => k.fingerprint === target.fingerprint)?.identity ?? null;
  return { ...target, identity };
}

export async function previewRevocation(db: Db, ref: AuthorityRef, now = new Date()): Promise<RevocationPreview> {
  const resolved = await resolveTarget(db, ref);
  const { label } = resolved;
  const [fleet, policies] = await Promise.all([loadFleet(db), loadFleetPolicies(db)]);
  const target = withIdentity(resolved.target, policies);
  const readOnly = await readOnlyEmbedding(db, policies, target);
  return { ref, label, radius: blastRadius(fleet, policies, target, now), readOnlyPolicies: readOnly };
}

async function readOnlyEmbedding(db: Db, policies: FleetPolicy[], target: AuthorityTarget): Promise<string[]> {
  const ro = new Set((await db.policy.findMany({ where: { readOnly: true }, select: { name: true } })).map((p) => p.name));
  return policies
    .filter((p) => ro.has(p.name) && p.spec.authorities.some((a) => !onlyStoredKeys(a) && targetMatchesInline(target, p, a)))
    .map((p) => p.name);
}

function targetMatchesInline(target: AuthorityTarget, p: FleetPolicy, a: PolicySpec["authorities"][number]): boolean {
  if (target.kind === "policy") return p.name === target.policy && a.name === target.authority;
  // by fingerprint or by identity: the key written in another encoding (a compressed EC point) is the same key
  return p.keys.some((k) => k.authority === a.name && k.ref === undefined && keyIsTarget(target, k));
}

/**
 * Revokes: the stored authority (status, time, reason), and inline copies of the key in editable
 * policies (a new policy version marks them revoked). Then every image whose verdicts change is
 * re-verified from stored evidence right away, and an admin event records the blast radius.
 */
export async function revokeAuthority(db: Db, ref: AuthorityRef, reason: string, actor: string, reverify: ReverifyOptions) {
  const now = reverify.now ?? new Date();
  const resolved = await resolveTarget(db, ref);
  const { label, storedId } = resolved;
  const preview = await previewRevocation(db, ref, now);
  const fleetPolicies = await loadFleetPolicies(db);
  const target = withIdentity(resolved.target, fleetPolicies);
  if (storedId) {
    const row = await db.authority.findUniqueOrThrow({ where: { id: storedId } });
    if (row.status === "revoked") throw new ApiError("conflict", `${row.name} is revoked already.`);
    await db.authority.update({ where: { id: storedId }, data: { status: "revoked", revokedAt: now, revokedReason: reason } });
  }
  // the same key stored under another name (in another encoding, stored before duplicates were refused) is revoked with it
  const alsoRevoked: string[] = [];
  if (target.kind !== "policy" && target.identity) {
    const others = await db.authority.findMany({ where: { kind: "key", status: { not: "revoked" }, ...(storedId ? { id: { not: storedId } } : {}) }, select: { id: true, name: true, publicKeyPem: true } });
    const same = others.filter((o) => safeIdentity(o.publicKeyPem) === target.identity);
    if (same.length) await db.authority.updateMany({ where: { id: { in: same.map((o) => o.id) } }, data: { status: "revoked", revokedAt: now, revokedReason: reason } });
    alsoRevoked.push(...same.map((o) => o.name));
  }
  const policiesChanged: string[] = [];
  for (const p of fleetPolicies) {
    const row = await db.policy.findUniqueOrThrow({ where: { id: p.id }, include: { versions: { orderBy: { version: "desc" }, take: 1 } } });
    if (row.readOnly) continue;
    const spec = policySpecSchema.parse(row.versions[0]!.spec);
    let touched = false;
    const authorities = spec.authorities.map((a) => {
      if (onlyStoredKeys(a)) return a;
      if (!targetMatchesInline(target, p, a) || a.status === "revoked") return a;
      touched = true;
      return { ...a, status: "revoked" as const };
    });
    if (!touched) continue;
    await saveSpec(db, p.name, { ...spec, authorities }, actor);
    policiesChanged.push(p.name);
  }
  if (!storedId && policiesChanged.length === 0) throw new ApiError("not_found", `Nothing to revoke for ${label}.`);
  await appendAuditEvents(db, [
    {
      kind: "admin",
      actor,
      occurredAt: now,
      details: {
        action: "authority.revoke",
        authority: label,
        ...(target.kind !== "policy" && target.fingerprint ? { fingerprint: target.fingerprint } : {}),
        reason,
        ...(alsoRevoked.length ? { alsoRevoked } : {}),
        policies: policiesChanged,
        readOnlyPolicies: preview.readOnlyPolicies,
        blastRadius: { containers: preview.radius.containers, images: preview.radius.images, workloads: preview.radius.workloads, namespaces: preview.radius.namespaces, byPolicy: preview.radius.byPolicy },
        workloads: [...new Set(preview.radius.affected.map((a) => `${a.cluster}/${a.namespace}/${a.workload}`))].slice(0, 500),
      },
    },
  ]);
  const reevaluated = await reverifyImages(db, preview.radius.imageIds, "revocation", reverify);
  const workloads = [...new Set(preview.radius.affected.map((a) => `${a.cluster}/${a.namespace} ${a.workload} (${a.policy}, ${a.mode})`))];
  await queueNotification(db, {
    event: "authority.revoked",
    dedupeKey: `revoked:${label}:${now.toISOString()}`,
    occurredAt: now.toISOString(),
    summary: `${actor} revoked ${label} (${reason}): ${preview.radius.containers} container(s) in ${preview.radius.workloads} workload(s) no longer verify`,
    lines: workloads.slice(0, 50),
    data: { authority: label, reason, containers: preview.radius.containers, workloads: preview.radius.workloads, byPolicy: preview.radius.byPolicy },
  });
  return { label, radius: preview.radius, policies: policiesChanged, reevaluated };
}

/** Running workloads whose verdicts fail because an authority was revoked (flagged on the overview). */
export async function revokedWorkloads(db: Db, limit = 50) {
  const rows = await db.verdict.findMany({
    where: { value: "failed", reasons: { array_contains: [{ code: "revoked" }] }, container: { pod: { deletedAt: null } } },
    include: { policy: true, container: { include: { pod: { include: { namespace: true, cluster: true, workload: true } } } } },
    take: 2000,
  });
  const byWorkload = new Map<string, { cluster: string; namespace: string; workload: string; policies: Set<string>; authorities: Set<string> }>();
  for (const v of rows) {
    const pod = v.container.pod;
    const workload = pod.workload ? `${pod.workload.kind}/${pod.workload.name}` : `Pod/${pod.name}`;
    const k = `${pod.cluster.name}/${pod.namespace.name}/${workload}`;
    const e = byWorkload.get(k) ?? { cluster: pod.cluster.name, namespace: pod.namespace.name, workload, policies: new Set(), authorities: new Set() };
    e.policies.add(v.policy.name);
    for (const r of v.reasons as { code?: string; authority?: string }[]) if (r.code === "revoked" && r.authority) e.authorities.add(r.authority);
    byWorkload.set(k, e);
  }
  return [...byWorkload.values()].slice(0, limit).map((e) => ({ ...e, policies: [...e.policies], authorities: [...e.authorities] }));
}
