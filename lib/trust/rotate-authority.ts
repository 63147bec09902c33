import "server-only";
import { ApiError } from "@/lib/api/errors";
import { appendAuditEvents } from "@/lib/audit/store";
import type { Db } from "@/lib/db/client";
import { keySources } from "@/lib/policy/compile";
import { policySpecSchema, type PolicyAuthority } from "@/lib/policy/schema";
import { createKeyAuthority } from "@/lib/trust/authorities";
import { safeFingerprint } from "@/lib/trust/authority-ref";
import { normalizeFingerprint } from "@/lib/trust/facts";
import { loadFleetPolicies, runningImageIds } from "@/lib/trust/load-fleet";
import { saveSpec } from "@/lib/trust/save-spec";
import { reverifyImages, type ReverifyOptions } from "@/lib/trust/reverify";
import { addRotationKey } from "@/lib/trust/rotation";

export interface RotationInput {
  newName: string;
  publicKeyPem: string;
  owner?: string | null;
  rotateBy?: Date | null;
}

/**
 * Staged rotation: stores the new key, marks the old one retiring, and adds the new key to every
 * authority of an editable policy that trusts the old one (`keys: [old, new]`: either key satisfies
 * that one authority, which never gains a vote; see rotation.ts). Returns the policies changed and
 * those it could not change (imported, read-only).
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
    // an inline copy of the old key is the old stored key (same fingerprint): it becomes `{ ref }`
    const isOld = (k: NonNullable<PolicyAuthority["key"]>) => ("ref" in k ? k.ref === oldName : oldFp !== null && safeFingerprint(k.pem) === oldFp);
    const uses = spec.authorities.filter((a) => keySources(a).some(isOld));
    if (uses.length === 0) continue;
    if (row.readOnly) {
      skipped.push(p.name);
      continue;
    }
    let next = spec;
    for (const a of uses) next = addRotationKey(next, a.name, isOld, oldName, created.name);
    await saveSpec(db, p.name, next, actor);
    await db.policyAuthority.upsert({
      where: { policyId_authorityId: { policyId: p.id, authorityId: created.id } },
      create: { policyId: p.id, authorityId: created.id, alias: uses[0]!.name },
      update: { alias: uses[0]!.name },
    });
    changed.push(p.name);
  }
  await appendAuditEvents(db, [{ kind: "admin", actor, details: { action: "authority.rotate", from: oldName, to: created.name, policies: changed, skipped } }]);
  let reevaluated = 0;
  if (reverify) reevaluated = await reverifyImages(db, await runningImageIds(db), "rotation", reverify);
  return { authority: created.name, policies: changed, skipped, reevaluated };
}
