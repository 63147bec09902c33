import { matchesGlob } from "@/lib/glob";
import { canonicalImageGlob, formatImageReference, tryParseImageReference } from "@/lib/registry/reference";

/**
 * Image scope matching (pure): `scope.images` globs of user-written and imported policies are matched
 * in their canonical form (lib/registry/reference.ts `canonicalImageGlob`: Docker Hub written
 * `docker.io/redis*`, `library/redis` or `redis` is `index.docker.io/library/redis…`, the form inventory
 * stores) against the canonical "registry/repository" and the reference as written in its canonical
 * form too (`redis:7` → `index.docker.io/library/redis:7`, an untagged reference gets `:latest`). Globs are lib/glob.ts's: `*` within one path segment, `**` across, `?` one character.
 */

function memo(fn: (s: string) => string): (s: string) => string {
  const cache = new Map<string, string>();
  return (s) => {
    let c = cache.get(s);
    if (c === undefined) {
      c = fn(s);
      if (cache.size > 10_000) cache.clear();
      cache.set(s, c);
    }
    return c;
  };
}

const canonicalOf = memo(canonicalImageGlob);
/** A reference as written in a pod spec, canonical; unparsable ones stay as written (they match only `**`-like globs). */
const canonicalRef = memo((ref) => {
  const parsed = tryParseImageReference(ref.trim());
  return parsed ? formatImageReference(parsed) : ref;
});

export function matchesImageGlob(imageName: string, pattern: string): boolean {
  return matchesGlob(imageName, canonicalOf(pattern));
}

/** Whether any glob matches the image's canonical name or (when given) its reference as written. */
export function imageInScope(globs: readonly string[], imageName: string, imageRef?: string): boolean {
  return globs.some((g) => matchesImageGlob(imageName, g) || (imageRef !== undefined && matchesImageGlob(canonicalRef(imageRef), g)));
}
