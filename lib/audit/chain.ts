import { hash } from "node:crypto";

/**
 * The audit log's hash chain, pure. Each event's hash covers its content and the previous event's
 * hash, so changing, removing or reordering any stored row breaks every later link:
 *   hash = sha256("signet-audit-v1\n" + prevHash + "\n" + canonicalJson(content))
 */
export const GENESIS_HASH = "0".repeat(64);

/** The hashed content of an event (everything but seq, prevHash and hash). */
export interface AuditContent {
  occurredAt: string;
  kind: string;
  actor: string | null;
  clusterName: string | null;
  namespace: string | null;
  workload: string | null;
  containerId: string | null;
  imageDigest: string | null;
  policyName: string | null;
  policyVersion: number | null;
  verdict: string | null;
  previousVerdict: string | null;
  reasons: unknown;
  evidence: unknown;
  details: unknown;
}

/**
 * JSON with object keys sorted recursively, so jsonb's storage order does not matter. `memo` keeps
 * the text of objects already written (by identity): a batch of events sharing their reasons,
 * evidence and details objects writes each once (the objects must not change while it is used).
 */
export function canonicalJson(value: unknown, memo?: Map<object, string>): string {
  if (value === null || typeof value !== "object") {
    if (typeof value === "number" && !Number.isFinite(value)) throw new Error("non-finite number in audit content");
    return JSON.stringify(value) ?? "null";
  }
  const kept = memo?.get(value);
  if (kept !== undefined) return kept;
  // written by concatenation, without the intermediate arrays of entries and parts: a scan hashes
  // one event per container (100,000 at 100,000 pods), and those arrays were most of this function's
  // time and garbage. Keys sort by UTF-16 code units (Array.prototype.sort's default for strings);
  // a hole in an array writes nothing between its commas, as Array.prototype.join did.
  let text: string;
  if (Array.isArray(value)) {
    text = "[";
    for (let i = 0; i < value.length; i++) {
      if (i > 0) text += ",";
      if (i in value) {
        const v: unknown = value[i];
        text += canonicalJson(v === undefined ? null : v, memo);
      }
    }
    text += "]";
  } else {
    const record = value as Record<string, unknown>;
    text = "{";
    for (const k of Object.keys(record).sort()) {
      const v = record[k];
      if (v === undefined) continue;
      if (text.length > 1) text += ",";
      text += `${JSON.stringify(k)}:${canonicalJson(v, memo)}`;
    }
    text += "}";
  }
  memo?.set(value, text);
  return text;
}

export function hashEvent(prevHash: string, content: AuditContent, memo?: Map<object, string>): string {
  return chainHash(prevHash, canonicalJson(content, memo));
}

/** hashEvent of a content already in its canonical form (canonicalJson): an appender prepares that before it holds the chain. */
export function chainHash(prevHash: string, canonicalContent: string): string {
  // (one-shot: no Hash object per event)
  return hash("sha256", `signet-audit-v1\n${prevHash}\n${canonicalContent}`, "hex");
}

export interface StoredLink {
  seq: bigint;
  prevHash: string;
  hash: string;
  content: AuditContent;
}
