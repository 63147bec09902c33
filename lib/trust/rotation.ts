import type { PolicyAuthority, PolicySpec } from "@/lib/policy/schema";

/**
 * Dual trust for a staged rotation, pure. The new key joins the old one INSIDE the authority that
 * trusts it (`keys: [old, new]`: either key satisfies it), never as an authority of its own: the old
 * and the new key of one team are one signer, so an image carrying both still counts once in
 * `allOf` / `atLeast … of` clauses and attestation requirements. The old key becomes a reference to
 * its stored authority (`{ ref: old }`), whose status (retiring, later revoked) then applies to that
 * key alone. Clauses are unchanged.
 *
 * `isOld` tells which key source of the authority is the rotated key (by stored name or fingerprint).
 */
export function addRotationKey(
  spec: PolicySpec,
  authority: string,
  isOld: (source: NonNullable<PolicyAuthority["key"]>) => boolean,
  oldRef: string,
  newRef: string,
): PolicySpec {
  const authorities = spec.authorities.map((a): PolicyAuthority => {
    if (a.name !== authority || a.keyless) return a;
    const sources = a.key ? [a.key] : (a.keys ?? []);
    if (sources.some((k) => "ref" in k && k.ref === newRef)) return a;
    const keys = [...sources.map((k) => (isOld(k) ? { ref: oldRef } : k)), { ref: newRef }];
    const { key: _key, ...rest } = a;
    return { ...rest, keys };
  });
  return { ...spec, authorities };
}
