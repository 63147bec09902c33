import "server-only";
import { ApiError } from "@/lib/api/errors";
import { appendAuditEvents } from "@/lib/audit/store";
import type { Db } from "@/lib/db/client";
import { policySpecSchema } from "@/lib/policy/schema";
import { createKeyAuthority } from "@/lib/trust/authorities";
import { normalizeFingerprint } from "@/lib/trust/facts";
import { loadFleetPolicies, runningImageIds } from "@/lib/trust/load-fleet";
import { saveSpec } from "@/lib/trust/save-spec";
import { reverifyImages, type ReverifyOptions } from "@/lib/trust/reverify";
import { addDualTrust } from "@/lib/trust/rotation";

export interface RotationInput {
  newName: string;
  publicKeyPem: string;
  owner?: string | null;
  rotateBy?: Date | null;
}

/**
 * Staged rotation: stores the new key, marks the old one retiring, and adds the new key next to the
 * old one in every editable policy that trusts it (either signature satisfies). Returns the policies
 * changed and those it could not change (imported, read-only).
 */
export async function rotateAuthority(db: Db, oldName: string, input: RotationInput, actor: string, reverify?: ReverifyOptions) {
  const old = await db.authority.findUnique({ where: { name: oldName } });
  if (!old) throw new ApiError("not_found", `No authority named ${oldName}.`);
  if (old.status === "revoked") throw new ApiError("conflict", `${oldName} is revoked; add the new key instead.`);
  const created = await createKeyAuthority(db, { name: input.newName, publicKeyPem: input.publicKeyPem, owner: input.owner ?? old.owner, rotateBy: input.rotateBy ?? null, source: "rotation" }, actor);
  await db.authority.update({ where: { id: old.id }, data: { status: "retiring" } });
  const oldFp = old.fingerprint ? normalizeFingerprint(old.fingerprint) : null;
  const changed: string[] = [];
  const skipped: string[] = [];
  for (const p of await loadFleetPolicies(db)) {
    const row = await db.policy.findUniqueOrThrow({ where: { id: p.id }, include: { versions: { orderBy: { version: "desc" }, take: 1 } } });
    const spec = policySpecSchema.parse(row.versions[0]!.spec);
    const uses = spec.authorities.find((a) => (a.key && "ref" in a.key && a.key.ref === oldName) || (oldFp !== null && p.keyFingerprints.get(a.name) === oldFp));
    if (!uses) continue;
    if (row.readOnly) {
      skipped.push(p.name);
      continue;
    }
    let alias = `${uses.name}-next`.slice(0, 63).replace(/-+$/, "");
    for (let i = 2; spec.authorities.some((a) => a.name === alias); i++) alias = `${uses.name}-next-${i}`.slice(0, 63);
    // inline copies of the old key are marked retiring in the policy itself
    const marked = { ...spec, authorities: spec.authorities.map((a) => (a === uses && a.key && "pem" in a.key ? { ...a, status: "retiring" as const } : a)) };
    await saveSpec(db, p.name, addDualTrust(marked, uses.name, alias, { name: alias, key: { ref: created.name }, status: "active" }), actor);
    await db.policyAuthority.upsert({
      where: { policyId_authorityId: { policyId: p.id, authorityId: created.id } },
      create: { policyId: p.id, authorityId: created.id, alias },
      update: { alias },
    });
    changed.push(p.name);
  }
  await appendAuditEvents(db, [{ kind: "admin", actor, details: { action: "authority.rotate", from: oldName, to: created.name, policies: changed, skipped } }]);
  let reevaluated = 0;
  if (reverify) reevaluated = await reverifyImages(db, await runningImageIds(db), "rotation", reverify);
  return { authority: created.name, policies: changed, skipped, reevaluated };
}
