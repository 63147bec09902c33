import { createHash } from "node:crypto";

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
  let text: string;
  if (Array.isArray(value)) text = `[${value.map((v) => canonicalJson(v === undefined ? null : v, memo)).join(",")}]`;
  else {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    text = `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v, memo)}`).join(",")}}`;
  }
  memo?.set(value, text);
  return text;
}

export function hashEvent(prevHash: string, content: AuditContent, memo?: Map<object, string>): string {
  return chainHash(prevHash, canonicalJson(content, memo));
}

/** hashEvent of a content already in its canonical form (canonicalJson): an appender prepares that before it holds the chain. */
export function chainHash(prevHash: string, canonicalContent: string): string {
  return createHash("sha256").update(`signet-audit-v1\n${prevHash}\n${canonicalContent}`).digest("hex");
}

export interface StoredLink {
  seq: bigint;
  prevHash: string;
  hash: string;
  content: AuditContent;
}
