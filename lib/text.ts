/**
 * PostgreSQL's text and jsonb cannot hold U+0000: one such character in a value makes the whole
 * statement fail — a batch of evidence rows, of verdicts, of admission records. Registries (manifest
 * annotations, error bodies, signed payloads, certificates), pod specs and admission reviews can send
 * it, so text from them is passed through `withoutNul` before it is kept: U+0000 becomes U+FFFD (the
 * replacement character), in strings and object keys, at any depth. Values without it are returned as
 * they are (same reference); Buffers, Dates and other non-plain objects are left alone.
 */
export const NUL_REPLACEMENT = "\uFFFD";

export function withoutNul<T>(value: T): T {
  return clean(value, 0) as T;
}

const MAX_DEPTH = 64;

function clean(value: unknown, depth: number): unknown {
  if (typeof value === "string") return value.includes("\u0000") ? value.replaceAll("\u0000", NUL_REPLACEMENT) : value;
  if (value === null || typeof value !== "object" || depth > MAX_DEPTH) return value;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v = clean(value[i], depth + 1);
      if (v !== value[i]) (out ??= [...value])[i] = v;
    }
    return out ?? value;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  let out: Record<string, unknown> | undefined;
  const entries = Object.entries(value as Record<string, unknown>);
  for (const [k, v] of entries) {
    const ck = clean(k, depth + 1) as string;
    const cv = clean(v, depth + 1);
    if (ck !== k || cv !== v) {
      out ??= Object.fromEntries(entries);
      if (ck !== k) delete out[k];
      out[ck] = cv;
    }
  }
  return out ?? value;
}
