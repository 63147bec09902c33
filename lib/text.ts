/**
 * What PostgreSQL cannot keep: U+0000 in text and jsonb, and lone UTF-16 surrogates in jsonb (JSON's
 * "\ud800" escapes, which JSON.parse lets through). One such character in a value makes the whole
 * statement fail — a batch of evidence rows, of verdicts, of admission records. Registries (manifest
 * annotations, error bodies, signed payloads, certificates), pod specs and admission reviews can send
 * them, so text from them is passed through `storable` before it is kept: U+0000 and lone surrogates
 * become U+FFFD (the replacement character), in strings and object keys, at any depth. Values without
 * them are returned as they are (same reference); Buffers, Dates and other non-plain objects are left alone.
 */
export const REPLACEMENT = "\uFFFD";

export function storable<T>(value: T): T {
  return clean(value, 0) as T;
}

const MAX_DEPTH = 64;

/** U+0000, and a high surrogate not followed by a low one or a low one not preceded by a high one (code units, no `u` flag). */
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function cleanString(s: string): string {
  UNSTORABLE.lastIndex = 0;
  return UNSTORABLE.test(s) ? s.replace(UNSTORABLE, REPLACEMENT) : s;
}

function clean(value: unknown, depth: number): unknown {
  if (typeof value === "string") return cleanString(value);
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
