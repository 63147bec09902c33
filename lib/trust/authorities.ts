import "server-only";
import { ApiError } from "@/lib/api/errors";
import { appendAuditEvents } from "@/lib/audit/store";
import type { Db } from "@/lib/db/client";
import { TX_ADMIN_TIMEOUT_MS, withTransaction } from "@/lib/db/transaction";
import { publicKeyFingerprint, publicKeyIdentity } from "@/lib/policy/compile";
import { keyAlgorithm, safeIdentity } from "@/lib/trust/authority-ref";

/** Stored authorities: create a key authority, change its owner, rotate-by date or status. */

export interface NewKeyAuthority {
  name: string;
  publicKeyPem: string;
  owner?: string | null;
  rotateBy?: Date | null;
  source?: string;
}

export async function createKeyAuthority(db: Db, input: NewKeyAuthority, actor: string) {
  let fingerprint: string;
  try {
    fingerprint = publicKeyFingerprint(input.publicKeyPem);
  } catch (err) {
    throw new ApiError("bad_request", `The public key cannot be parsed: ${(err as Error).message}`, { field: "publicKeyPem" });
  }
  return withTransaction(db, async (tx) => {
    if (await tx.authority.findUnique({ where: { name: input.name } })) throw new ApiError("conflict", `An authority named ${input.name} exists.`, { field: "name" });
    const hex = fingerprint.slice("sha256:".length);
    if (await tx.authority.findFirst({ where: { OR: [{ fingerprint: hex }, { fingerprint }] } })) throw new ApiError("conflict", "This key is stored already.", { field: "publicKeyPem" });
    // the same key in another encoding (a compressed EC point) has another fingerprint: one key, one stored authority
    const identity = publicKeyIdentity(input.publicKeyPem);
    const keys = await tx.authority.findMany({ where: { kind: "key" }, select: { name: true, publicKeyPem: true } });
    const same = keys.find((k) => safeIdentity(k.publicKeyPem) === identity);
    if (same) throw new ApiError("conflict", `This key is stored already, in another encoding, as ${same.name}.`, { field: "publicKeyPem" });
    const row = await tx.authority.create({
      data: {
        name: input.name,
        kind: "key",
        publicKeyPem: input.publicKeyPem,
        fingerprint: hex,
        algorithm: keyAlgorithm(input.publicKeyPem),
        source: input.source ?? "manual",
        owner: input.owner ?? null,
        rotateBy: input.rotateBy ?? null,
      },
    });
    await appendAuditEvents(tx, [{ kind: "admin", actor, details: { action: "authority.create", name: row.name, fingerprint, source: row.source } }]);
    return row;
  }, { timeout: TX_ADMIN_TIMEOUT_MS });
}

export interface AuthorityPatch {
  owner?: string | null;
  rotateBy?: Date | null;
  status?: "active" | "retiring";
}

export async function updateAuthority(db: Db, name: string, patch: AuthorityPatch, actor: string) {
  return withTransaction(db, async (tx) => {
    const existing = await tx.authority.findUnique({ where: { name } });
    if (!existing) throw new ApiError("not_found", `No authority named ${name}.`);
    if (existing.status === "revoked" && patch.status) throw new ApiError("conflict", "A revoked authority stays revoked.");
    const row = await tx.authority.update({ where: { name }, data: patch });
    // each changed field with its value before: the audit page shows old -> new
    const was = { owner: existing.owner, rotateBy: existing.rotateBy?.toISOString() ?? null, status: existing.status };
    const from = Object.fromEntries(Object.keys(patch).map((k) => [k, was[k as keyof typeof was]]));
    await appendAuditEvents(tx, [{ kind: "admin", actor, details: { action: "authority.update", name, ...patch, rotateBy: patch.rotateBy?.toISOString() ?? patch.rotateBy, from } }]);
    return row;
  }, { timeout: TX_ADMIN_TIMEOUT_MS });
}
