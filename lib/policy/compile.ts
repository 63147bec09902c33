import type { PolicyAuthority, PolicySpec } from "@/lib/policy/schema";
import { policyRegex } from "@/lib/policy/regex";
import { parsePublicKey } from "@/lib/sigstore/public-key";

/** A policy ready for evaluation: key references resolved, key fingerprints computed once. */
export interface CompiledPolicy {
  name: string;
  version: number;
  spec: PolicySpec;
  /** Key authority name → "sha256:<hex>" of its SPKI DER. */
  keyFingerprints: Map<string, string>;
  /** Key authority name → PEM, the candidate keys verification tries. */
  keys: Map<string, string>;
}

/**
 * "sha256:<hex>" of a PEM public key's DER SubjectPublicKeyInfo (cosign's and Signet's key id) — the
 * same parser verification uses, so a policy's key and a verified signer always agree.
 */
export function publicKeyFingerprint(pem: string): string {
  return parsePublicKey(pem).fingerprint;
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

/**
 * Resolves `key: { ref }` authorities through `resolveKey` (stored authorities: their status and
 * validity window override the policy's, so revoking a stored key affects every policy using it) and
 * parses every PEM once. A key that cannot be parsed fails compilation: a policy is never evaluated
 * with an authority silently missing.
 */
export function compilePolicy(
  name: string,
  version: number,
  spec: PolicySpec,
  resolveKey: (ref: string) => StoredKey | undefined = () => undefined,
): CompiledPolicy {
  const keyFingerprints = new Map<string, string>();
  const keys = new Map<string, string>();
  const authorities = spec.authorities.map((a) => {
    if (!a.key) return a;
    let pem: string;
    let resolved = a;
    if ("ref" in a.key) {
      const stored = resolveKey(a.key.ref);
      if (!stored) throw new PolicyCompileError(`authority ${a.name}: no stored key named "${a.key.ref}"`);
      pem = stored.pem;
      resolved = {
        ...a,
        status: stored.status ?? a.status,
        validFrom: stored.validFrom ?? a.validFrom,
        validUntil: stored.validUntil ?? a.validUntil,
      };
    } else {
      pem = a.key.pem;
    }
    try {
      keyFingerprints.set(a.name, publicKeyFingerprint(pem));
    } catch (err) {
      throw new PolicyCompileError(`authority ${a.name}: the public key cannot be parsed (${(err as Error).message})`);
    }
    keys.set(a.name, pem);
    return resolved;
  });
  compileRegexps(spec);
  return { name, version, spec: { ...spec, authorities }, keyFingerprints, keys };
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
