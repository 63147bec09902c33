/**
 * The one glob matcher of Signet (pure): policy scopes (image names, namespaces, clusters) and registry
 * host rules (lib/registry/host-policy.ts) both compile their patterns here.
 *
 * - `**` matches any run of characters, separators included;
 * - `*` matches any run of characters except the dialect's separators;
 * - `?` matches one character except a separator;
 * - everything else matches itself (case-insensitively when the dialect says so).
 *
 * Matching simulates the pattern as an NFA over its tokens (a set of positions advanced one input
 * character at a time), so it takes O(pattern × value) steps whatever the input: no regular
 * expression, no backtracking. Patterns and values come from pod specs, policies and users.
 */

export interface GlobDialect {
  /** Characters `*` and `?` do not cross ("/" for image names, "." and ":" for hosts). */
  separators: string;
  ignoreCase?: boolean;
}

/** Image names, namespaces, clusters: `*` stays within one path segment. */
export const PATH_GLOB: GlobDialect = { separators: "/" };
/** Registry hosts: `*` stays within one DNS label (and does not cross the port), any case. */
export const HOST_GLOB: GlobDialect = { separators: ".:", ignoreCase: true };

/** Longest pattern accepted; longer ones never match (policies are validated to stay below it). */
export const MAX_GLOB_LENGTH = 1024;
/** Longest value matched; image references are at most 1024 characters. */
const MAX_VALUE_LENGTH = 4096;

const Kind = { Char: 0, One: 1, Star: 2, Any: 3 } as const;
type Kind = (typeof Kind)[keyof typeof Kind];

interface Token {
  kind: Kind;
  ch?: string;
}

export interface CompiledGlob {
  readonly pattern: string;
  /** True when the pattern has no wildcard (matching is then a string comparison). */
  readonly literal: boolean;
  test(value: string): boolean;
}

function tokenize(pattern: string, ignoreCase: boolean): Token[] {
  const tokens: Token[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "*") {
      let j = i;
      while (pattern[j + 1] === "*") j++;
      // "**" (or a longer run) crosses separators; a lone "*" does not.
      tokens.push({ kind: j > i ? Kind.Any : Kind.Star });
      i = j;
    } else if (c === "?") {
      tokens.push({ kind: Kind.One });
    } else {
      tokens.push({ kind: Kind.Char, ch: ignoreCase ? c.toLowerCase() : c });
    }
  }
  return tokens;
}

function compile(pattern: string, dialect: GlobDialect): CompiledGlob {
  const ignoreCase = dialect.ignoreCase === true;
  if (pattern.length > MAX_GLOB_LENGTH) return { pattern, literal: true, test: () => false };
  const tokens = tokenize(pattern, ignoreCase);
  if (tokens.every((t) => t.kind === Kind.Char)) {
    const lit = ignoreCase ? pattern.toLowerCase() : pattern;
    return { pattern, literal: true, test: (v) => (ignoreCase ? v.toLowerCase() : v) === lit };
  }
  const n = tokens.length;
  const seps = dialect.separators;
  /** Adds position i and every position reachable from it through stars matching nothing. */
  const close = (set: Uint8Array, i: number) => {
    while (i <= n && !set[i]) {
      set[i] = 1;
      const t = tokens[i];
      if (!t || (t.kind !== Kind.Star && t.kind !== Kind.Any)) break;
      i++;
    }
  };
  return {
    pattern,
    literal: false,
    test(value: string): boolean {
      if (value.length > MAX_VALUE_LENGTH) return false;
      const v = ignoreCase ? value.toLowerCase() : value;
      let cur = new Uint8Array(n + 1);
      let next = new Uint8Array(n + 1);
      close(cur, 0);
      for (let k = 0; k < v.length; k++) {
        const c = v[k]!;
        const isSep = seps.includes(c);
        next.fill(0);
        let any = false;
        for (let i = 0; i < n; i++) {
          if (!cur[i]) continue;
          const t = tokens[i]!;
          switch (t.kind) {
            case Kind.Char:
              if (t.ch === c) {
                close(next, i + 1);
                any = true;
              }
              break;
            case Kind.One:
              if (!isSep) {
                close(next, i + 1);
                any = true;
              }
              break;
            case Kind.Star:
              if (!isSep) {
                close(next, i);
                any = true;
              }
              break;
            case Kind.Any:
              close(next, i);
              any = true;
              break;
          }
        }
        if (!any) return false;
        [cur, next] = [next, cur];
      }
      return cur[n] === 1;
    },
  };
}

const caches = new WeakMap<GlobDialect, Map<string, CompiledGlob>>();

/** Compiles a pattern once per dialect (a bounded cache: patterns come from a few policies and rules). */
export function compileGlob(pattern: string, dialect: GlobDialect = PATH_GLOB): CompiledGlob {
  let cache = caches.get(dialect);
  if (!cache) caches.set(dialect, (cache = new Map()));
  const hit = cache.get(pattern);
  if (hit) return hit;
  const compiled = compile(pattern, dialect);
  if (cache.size > 10_000) cache.clear();
  cache.set(pattern, compiled);
  return compiled;
}

export function matchesGlob(value: string, pattern: string, dialect: GlobDialect = PATH_GLOB): boolean {
  return compileGlob(pattern, dialect).test(value);
}

export function matchesAnyGlob(value: string, patterns: readonly string[], dialect: GlobDialect = PATH_GLOB): boolean {
  return patterns.some((p) => matchesGlob(value, p, dialect));
}
