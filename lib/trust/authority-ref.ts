import "server-only";
import { createPublicKey } from "node:crypto";
import { ApiError } from "@/lib/api/errors";
import type { Db } from "@/lib/db/client";
import { publicKeyFingerprint, publicKeyIdentity } from "@/lib/policy/compile";
import { normalizeFingerprint } from "@/lib/trust/facts";
import type { AuthorityTarget } from "@/lib/trust/fleet";
import { keyName } from "@/lib/ui/format";

/** "stored:<name>", "policy:<policy>/<authority>", "sha256:<hex>" (a key by fingerprint), or a bare stored name. */
export type AuthorityRef = string;

/** "ecdsa-<curve>", "rsa-<bits>", the key type, or null for an unreadable PEM. */
export function keyAlgorithm(pem: string): string | null {
  try {
    const k = createPublicKey(pem);
    const d = k.asymmetricKeyDetails;
    if (k.asymmetricKeyType === "ec") return `ecdsa-${d?.namedCurve ?? "?"}`;
    if (k.asymmetricKeyType === "rsa" || k.asymmetricKeyType === "rsa-pss") return `rsa-${d?.modulusLength ?? "?"}`;
    return k.asymmetricKeyType ?? null;
  } catch {
    return null;
  }
}

/** The fingerprint of a PEM key, or null when it cannot be read. */
export function safeFingerprint(pem: string): string | null {
  try {
    return publicKeyFingerprint(pem);
  } catch {
    return null;
  }
}

/** The encoding-independent identity of a PEM key, or null when it cannot be read. */
export function safeIdentity(pem: string | null | undefined): string | null {
  if (!pem) return null;
  try {
    return publicKeyIdentity(pem);
  } catch {
    return null;
  }
}

/** Resolves a reference to what a preview or revocation targets; unknown stored names are a 404. */
export async function resolveTarget(db: Db, ref: AuthorityRef): Promise<{ target: AuthorityTarget; label: string; storedId?: string }> {
  if (ref.startsWith("policy:")) {
    const rest = ref.slice("policy:".length);
    const slash = rest.indexOf("/");
    if (slash < 1) throw new ApiError("bad_request", 'A policy authority is named "policy:<policy>/<authority>".');
    return { target: { kind: "policy", policy: rest.slice(0, slash), authority: rest.slice(slash + 1) }, label: ref };
  }
  if (/^(sha256:)?[0-9a-f]{64}$/i.test(ref)) {
    const fp = normalizeFingerprint(ref);
    const stored = (await db.authority.findMany({ where: { fingerprint: { not: null } } })).find((a) => normalizeFingerprint(a.fingerprint!) === fp);
    if (stored) return { target: { kind: "stored", name: stored.name, fingerprint: fp, identity: safeIdentity(stored.publicKeyPem) }, label: stored.name, storedId: stored.id };
    // a key no stored authority holds (written inline in policies) is called by its one name, its short fingerprint
    return { target: { kind: "fingerprint", fingerprint: fp }, label: keyName({ fingerprint: fp }) };
  }
  const name = ref.startsWith("stored:") ? ref.slice("stored:".length) : ref;
  const stored = await db.authority.findUnique({ where: { name } });
  if (!stored) throw new ApiError("not_found", `No authority named ${name}.`);
  return {
    target: { kind: "stored", name: stored.name, fingerprint: stored.fingerprint ? normalizeFingerprint(stored.fingerprint) : null, identity: safeIdentity(stored.publicKeyPem) },
    label: stored.name,
    storedId: stored.id,
  };
}
