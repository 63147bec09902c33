import type { PolicySpec, SignatureClause } from "@/lib/policy/schema";

/**
 * Dual trust for a staged rotation, pure: the new authority is accepted wherever the old one is.
 * `anyOf` / `atLeast … of` gain the new name; `allOf [old, x]` becomes `anyOf [old, new]` and `allOf [x]`;
 * attestations signed by the old one may be signed by the new one. The default clause (any authority)
 * includes the new authority by itself.
 */
/** Adds `alias` wherever `old` is accepted, so that either satisfies the policy (dual trust). */
export function addDualTrust(spec: PolicySpec, old: string, alias: string, authority: PolicySpec["authorities"][number]): PolicySpec {
  if (spec.authorities.some((a) => a.name === alias)) return spec;
  const s = spec.require.signatures;
  const widen = (c: SignatureClause): SignatureClause[] => {
    if ("anyOf" in c) return c.anyOf.includes(old) ? [{ anyOf: [...c.anyOf, alias] }] : [c];
    if ("allOf" in c) {
      if (!c.allOf.includes(old)) return [c];
      const rest = c.allOf.filter((n) => n !== old);
      return [{ anyOf: [old, alias] }, ...(rest.length ? [{ allOf: rest }] : [])];
    }
    return c.of.includes(old) ? [{ atLeast: c.atLeast, of: [...c.of, alias] }] : [c];
  };
  const signatures = s === undefined ? undefined : Array.isArray(s) ? s.flatMap(widen) : widen(s);
  return {
    ...spec,
    authorities: [...spec.authorities, authority],
    require: {
      ...spec.require,
      ...(signatures === undefined ? {} : { signatures: Array.isArray(signatures) && signatures.length === 1 && !Array.isArray(s) ? signatures[0]! : signatures }),
      attestations: spec.require.attestations.map((a) => (a.signedBy?.includes(old) ? { ...a, signedBy: [...a.signedBy, alias] } : a)),
    },
  };
}

