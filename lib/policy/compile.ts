import { createHash } from "node:crypto";
import type { PolicyAuthority, PolicySpec } from "@/lib/policy/schema";
import { policyRegex } from "@/lib/policy/regex";
import { parsePublicKey } from "@/lib/sigstore/public-key";

/** One public key of a key authority, resolved and parsed once. */
export interface CompiledKey {
  /** The authority it belongs to (an authority with `keys:` has several: either one counts, once). */
  authority: string;
  /** "sha256:<hex>" of its SPKI DER (cosign's key id, what verification reports). */
  fingerprint: string;
  /**
   * The key itself, whatever its encoding ("key:<hex>" over its JWK public components): the same EC
   * point written compressed and uncompressed has two fingerprints but one identity, so it is one signer.
   */
  identity: string;
  pem: string;
  /** The stored key it was resolved from (`{ ref }`), if any. */
  ref?: string;
  status: PolicyAuthority["status"];
  validFrom?: Date;
  validUntil?: Date;
}

/** A policy ready for evaluation: key references resolved, key fingerprints computed once. */
export interface CompiledPolicy {
  name: string;
  version: number;
  spec: PolicySpec;
  /** Every key of every key authority, in authority order (the candidate keys verification tries). */
  keys: CompiledKey[];
}

/**
 * "sha256:<hex>" of a PEM public key's DER SubjectPublicKeyInfo (cosign's and Signet's key id) — the
 * same parser verification uses, so a policy's key and a verified signer always agree.
 */
export function publicKeyFingerprint(pem: string): string {
  return parsePublicKey(pem).fingerprint;
}

/** The identity of a public key independent of its encoding: a hash of its JWK public components. */
export function publicKeyIdentity(pem: string): string {
  const jwk = parsePublicKey(pem).keyObject.export({ format: "jwk" }) as Record<string, unknown>;
  const material = [jwk.kty, jwk.crv, jwk.x, jwk.y, jwk.n, jwk.e].map((v) => (typeof v === "string" ? v : "")).join("|");
  return `key:${createHash("sha256").update(material).digest("hex")}`;
}

/** What a stored authority (`key: { ref }`) resolves to. */
export interface StoredKey {
  pem: string;
  status?: PolicyAuthority["status"];
  validFrom?: Date;
  validUntil?: Date;
}

export class PolicyCompileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PolicyCompileError";
  }
}

type KeySource = NonNullable<PolicyAuthority["key"]>;

/** The key sources of an authority: `key` (one) or `keys` (either of several, e.g. during a rotation). */
export function keySources(a: PolicyAuthority): KeySource[] {
  return a.key ? [a.key] : (a.keys ?? []);
}

const worse = (a: PolicyAuthority["status"], b: PolicyAuthority["status"] | undefined): PolicyAuthority["status"] =>
  a === "revoked" || b === "revoked" ? "revoked" : a === "retiring" || b === "retiring" ? "retiring" : "active";
const later = (a?: Date, b?: Date) => (a && b ? (a > b ? a : b) : (a ?? b));
const earlier = (a?: Date, b?: Date) => (a && b ? (a < b ? a : b) : (a ?? b));

/**
 * Resolves `key: { ref }` authorities through `resolveKey` (stored authorities: their status and
 * validity window apply, so revoking a stored key affects every policy using it) and parses every PEM
 * once. A key that cannot be parsed fails compilation: a policy is never evaluated with an authority
 * silently missing. With one key (`key:`), the stored key's status and window become the authority's
 * (as always); with several (`keys:`), each key keeps its own and the authority's apply on top.
 */
export function compilePolicy(
  name: string,
  version: number,
  spec: PolicySpec,
  resolveKey: (ref: string) => StoredKey | undefined = () => undefined,
): CompiledPolicy {
  const keys: CompiledKey[] = [];
  const authorities = spec.authorities.map((a) => {
    const sources = keySources(a);
    if (sources.length === 0) return a;
    let resolved = a;
    for (const source of sources) {
      let pem: string;
      let stored: StoredKey | undefined;
      if ("ref" in source) {
        stored = resolveKey(source.ref);
        if (!stored) throw new PolicyCompileError(`authority ${a.name}: no stored key named "${source.ref}"`);
        pem = stored.pem;
      } else {
        pem = source.pem;
      }
      let fingerprint: string;
      let identity: string;
      try {
        fingerprint = publicKeyFingerprint(pem);
        identity = publicKeyIdentity(pem);
      } catch (err) {
        throw new PolicyCompileError(`authority ${a.name}: the public key cannot be parsed (${(err as Error).message})`);
      }
      if (a.key && stored) {
        resolved = { ...a, status: stored.status ?? a.status, validFrom: stored.validFrom ?? a.validFrom, validUntil: stored.validUntil ?? a.validUntil };
      }
      keys.push({
        authority: a.name,
        fingerprint,
        identity,
        pem,
        ...("ref" in source ? { ref: source.ref } : {}),
        status: worse(resolved.status, stored?.status),
        validFrom: later(resolved.validFrom, stored?.validFrom),
        validUntil: earlier(resolved.validUntil, stored?.validUntil),
      });
    }
    return resolved;
  });
  compileRegexps(spec);
  return { name, version, spec: { ...spec, authorities }, keys };
}

/**
 * An authority all of whose keys are stored ones (`{ ref }`): the stored keys' status applies, and
 * nothing inline is there to mark or remind of. Keyless and static authorities are not.
 */
export function onlyStoredKeys(a: PolicyAuthority): boolean {
  const sources = keySources(a);
  return sources.length > 0 && sources.every((k) => "ref" in k);
}

/** The keys of one authority of a compiled policy. */
export function keysOf(policy: Pick<CompiledPolicy, "keys">, authority: string): CompiledKey[] {
  return policy.keys.filter((k) => k.authority === authority);
}

/**
 * The same public key under two authorities of one policy: one signature would otherwise look like two
 * signers. Returns one readable problem per pair ("authorities a and b carry the same public key …");
 * keys that cannot be resolved or parsed here are skipped (compilation reports them). Pure: the
 * policy store refuses such a policy at save, and the importers report it.
 */
export function duplicateKeyProblems(spec: PolicySpec, resolveKey: (ref: string) => StoredKey | undefined = () => undefined): string[] {
  const seen = new Map<string, { authority: string; fingerprint: string }>();
  const problems: string[] = [];
  for (const a of spec.authorities) {
    const mine = new Set<string>();
    for (const source of keySources(a)) {
      const pem = "ref" in source ? resolveKey(source.ref)?.pem : source.pem;
      if (pem === undefined) continue;
      let identity: string;
      let fingerprint: string;
      try {
        identity = publicKeyIdentity(pem);
        fingerprint = publicKeyFingerprint(pem);
      } catch {
        continue;
      }
      const first = seen.get(identity);
      if (mine.has(identity)) problems.push(`authorities.${a.name}: lists the same public key (${fingerprint}) twice`);
      else if (first) problems.push(`authorities.${a.name}: authorities "${first.authority}" and "${a.name}" carry the same public key (${first.fingerprint}); one key is one signer — name it once`);
      else seen.set(identity, { authority: a.name, fingerprint });
      mine.add(identity);
    }
  }
  return problems;
}

/**
 * Candidate keys of some policies for verification: keyId "<policy>/<authority>" ("#2", "#3" … for
 * the further keys of an authority with `keys:`).
 */
export function candidateKeys(policies: readonly Pick<CompiledPolicy, "name" | "keys">[]): Array<{ keyId: string; pem: string }> {
  const out = new Map<string, { keyId: string; pem: string }>();
  for (const p of policies) {
    const n = new Map<string, number>();
    for (const k of p.keys) {
      const i = (n.get(k.authority) ?? 0) + 1;
      n.set(k.authority, i);
      const keyId = `${p.name}/${k.authority}${i > 1 ? `#${i}` : ""}`;
      out.set(keyId, { keyId, pem: k.pem });
    }
  }
  return [...out.values()];
}

/**
 * Compiles every regexp of a policy version once, up front (evaluation then finds them in the
 * cache of lib/policy/regex): a stored pattern RE2 cannot run fails the policy, never a match.
 */
function compileRegexps(node: unknown, path = "spec"): void {
  if (Array.isArray(node)) node.forEach((n, i) => compileRegexps(n, `${path}[${i}]`));
  else if (node && typeof node === "object") {
    for (const [k, v] of Object.entries(node)) {
      if (typeof v === "string" && (k === "regexp" || k.endsWith("RegExp"))) {
        try {
          policyRegex(v);
        } catch (err) {
          throw new PolicyCompileError(`${path}.${k} ${(err as Error).message}`);
        }
      } else compileRegexps(v, `${path}.${k}`);
    }
  }
}
